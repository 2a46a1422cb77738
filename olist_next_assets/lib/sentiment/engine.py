"""Lexicon + rules sentiment scorer for Brazilian Portuguese e-commerce review comments.

Why rules and not a model: scores must be reproducible offline, with no weights to download,
and fast enough to score every comment of a weekly batch inside a Dagster asset. VADER's
recipe (valence lexicon, negation, intensifiers, "but" contrast, "!" emphasis, squashing to
[-1, 1]) works for Portuguese when the lexicon speaks the domain: delivery ("não chegou",
"antes do prazo") and product complaints ("veio errado", "com defeito") carry most of the
signal in marketplace reviews, and generic lexicons (LeIA) miss them.

Everything is vectorised in polars: texts are split into tokens once (one regex pass), the
distinct tokens are folded (accents, elongations, typos) once each in Python, and all rules
are column expressions over the exploded token frame, so ~40k comments score in well under
a second. :func:`score_text` runs the same pipeline on one text, so both always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import polars as pl

LEXICON_FILE = "lexicon_ptbr.tsv"
MAX_PHRASE = 4  # longest phrase, in tokens, the lexicon may hold
KINDS = ("valence", "negator", "booster", "post", "contrast", "concede", "alias")

# Emoticons first (before ":" and ")" are dropped as punctuation), then words, clause marks,
# line breaks and pictographic emoji. Texts are lower-cased before, so ":D" arrives as ":d".
TOKEN_PATTERN = r"[:;=][-']?[)(dp/]|<3|[\p{L}\p{N}]+|[.!?;,]|\n|\p{Extended_Pictographic}"
CLAUSE_MARKS = frozenset({".", "!", "?", ";", ",", "\n"})
LAUGHTER = re.compile(r"^(?:k{3,}|(?:ha){2,}h?|(?:he){2,}h?|(?:hi){2,}h?|(?:rs){2,}r?|(?:hue){2,}|(?:hua){2,})$")
ELONGATION = re.compile(r"([^\W\d_])\1{2,}")  # "ótimooooo" -> "ótimo": 3+ equal letters is never Portuguese
DOUBLED = re.compile(r"([^rs])\1")  # "excelentee" -> "excelente" (rr and ss are real Portuguese)


@dataclass(frozen=True)
class Rules:
    """Weights of the rules (VADER's values unless tuned; see docs/sentiment.md)."""

    negation_window: int = 3  # a negator reaches this many tokens ahead within its clause
    negation_factor: float = -0.74  # "não é bom" is less negative than "ruim" is
    booster_decay: tuple[float, ...] = (1.0, 0.95, 0.9)  # boost at distance 1, 2, 3
    before_contrast: float = 0.5  # "bom, mas atrasou": the part before "mas" matters less...
    after_contrast: float = 1.5  # ...and the part after it more
    conceded: float = 0.5  # "apesar da demora, ótimo": the conceded clause matters less
    bare_negator: float = -0.4  # a negator that negates nothing scored: "o produto não veio"
    exclamation: float = 0.292  # emphasis added per "!" ...
    max_exclamations: int = 4  # ... up to this many
    alpha: float = 15.0  # squashing x / sqrt(x^2 + alpha)


@dataclass(frozen=True)
class Lexicon:
    """The parsed lexicon: every term already folded to lower case without accents."""

    phrases: dict[int, dict[str, float]]  # length in tokens -> "w1 w2" -> valence
    negators: frozenset[str]
    boosters: dict[str, float]
    post_boosters: dict[str, float]
    contrasts: frozenset[str]
    concessions: frozenset[str]
    aliases: dict[str, str]
    known: frozenset[str] = field(init=False)
    _misspellings: dict[str, str] = field(init=False, repr=False)
    phrase_table: pl.DataFrame = field(init=False, repr=False)  # multi-word phrases, for joins

    def __post_init__(self) -> None:
        known = set(self.negators) | set(self.boosters) | set(self.post_boosters)
        known |= self.contrasts | self.concessions
        for table in self.phrases.values():
            for phrase in table:
                known.update(phrase.split(" "))
        object.__setattr__(self, "known", frozenset(known))
        object.__setattr__(self, "_misspellings", _misspellings(self.phrases[1], self.known))
        multi = {gram: value for n in range(2, MAX_PHRASE + 1) for gram, value in self.phrases[n].items()}
        table = pl.DataFrame({"gram": list(multi), "valence": list(multi.values())},
                             schema={"gram": pl.String, "valence": pl.Float64})
        object.__setattr__(self, "phrase_table", table)

    def canonical(self, token: str) -> str:
        """The lexicon form of one (lower-cased) token: folded, de-elongated, de-typoed."""
        folded = fold(token)
        if LAUGHTER.match(folded):
            return "risos"
        folded = ELONGATION.sub(r"\1", folded)
        folded = self.aliases.get(folded, folded)
        if folded in self.known or not folded.isalpha():
            return folded
        undoubled = DOUBLED.sub(r"\1", folded)
        for candidate in (undoubled, folded[:-1] if folded.endswith("s") else ""):
            if candidate in self.known:
                return candidate
        return self._misspellings.get(folded) or self.aliases.get(undoubled) or folded


def fold(text: str) -> str:
    """Lower case without accents ("NÃO" -> "nao"); emoji keep their code point."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch != "\ufe0f")


# Spelling slips that keep the sound of a Portuguese word (s/z, ss/ç, ch/x, lost h or u, ...).
# Generic edit-distance matching was tried and rejected: without a full dictionary it maps
# real words onto lexicon entries ("correios" -> "corretos", "relógio" -> "elogio").
SOUND_ALIKE = (("s", "z"), ("z", "s"), ("ss", "c"), ("c", "ss"), ("ch", "x"), ("x", "ch"),
               ("ou", "o"), ("qu", "q"), ("gu", "g"), ("h", ""), ("l", "u"), ("ei", "ey"),
               ("x", "s"), ("ex", "es"), ("es", "ex"), ("ao", "am"), ("i", "e"), ("e", "i"))


def _misspellings(words: dict[str, float], known: frozenset[str]) -> dict[str, str]:
    """Map each one-step sound-alike spelling of a lexicon word back to it (unambiguous only)."""
    index: dict[str, str | None] = {}
    for word in sorted(words):
        if len(word) < 5 or not word.isalpha():
            continue
        for old, new in SOUND_ALIKE:
            start = word.find(old)
            while start != -1:
                variant = word[:start] + new + word[start + len(old):]
                if variant not in known:
                    index[variant] = word if index.get(variant, word) == word else None
                start = word.find(old, start + 1)
    return {variant: word for variant, word in index.items() if word is not None}


def parse_lexicon(text: str) -> Lexicon:
    """Parse the TSV lexicon; duplicated or malformed entries are errors, not silent overrides."""
    phrases: dict[int, dict[str, float]] = {n: {} for n in range(1, MAX_PHRASE + 1)}
    negators: set[str] = set()
    boosters: dict[str, float] = {}
    post: dict[str, float] = {}
    contrasts: set[str] = set()
    concessions: set[str] = set()
    aliases: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in KINDS:
            raise ValueError(f"lexicon line {number}: expected kind<TAB>term<TAB>value, got {line!r}")
        kind, raw_term, value = parts
        term = " ".join(fold(raw_term).split())
        if (kind, term) in seen:
            raise ValueError(f"lexicon line {number}: duplicate {kind} entry {term!r}")
        seen.add((kind, term))
        if kind == "valence":
            size = len(term.split(" "))
            if size > MAX_PHRASE:
                raise ValueError(f"lexicon line {number}: phrase longer than {MAX_PHRASE} words")
            phrases[size][term] = float(value)
        elif kind == "negator":
            negators.add(term)
        elif kind == "booster":
            boosters[term] = float(value)
        elif kind == "post":
            post[term] = float(value)
        elif kind == "contrast":
            contrasts.add(term)
        elif kind == "concede":
            concessions.add(term)
        else:
            target = fold(value)
            if target == term:
                raise ValueError(f"lexicon line {number}: alias {term!r} maps to itself")
            aliases[term] = target
    return Lexicon(phrases, frozenset(negators), boosters, post, frozenset(contrasts),
                   frozenset(concessions), aliases)


@cache
def default_lexicon() -> Lexicon:
    """The packaged lexicon, parsed once per process."""
    text = resources.files(__package__).joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    return parse_lexicon(text)


def score_series(texts: pl.Series, lexicon: Lexicon | None = None, rules: Rules | None = None) -> pl.Series:
    """Score each text in [-1, 1]; null where the text is null or blank."""
    lexicon = lexicon or default_lexicon()
    rules = rules or Rules()
    texts = texts.cast(pl.String)
    sums = _raw_scores(texts, lexicon, rules)
    squashed = sums / np.sqrt(sums * sums + rules.alpha)
    blank = (texts.is_null() | (texts.str.strip_chars().str.len_chars() == 0)).to_numpy()
    return pl.Series(texts.name, squashed, dtype=pl.Float64).scatter(np.flatnonzero(blank), None)


def _raw_scores(texts: pl.Series, lexicon: Lexicon, rules: Rules) -> np.ndarray:
    """Unbounded VADER-style sum per text (0 for texts without tokens)."""
    tokens = (
        pl.DataFrame({"raw": texts.str.to_lowercase().str.extract_all(TOKEN_PATTERN)})
        .with_row_index("rid")
        .explode("raw")
        .drop_nulls("raw")
    )
    out = np.zeros(len(texts))
    if tokens.height == 0:
        return out
    vocabulary = _vocabulary(tokens.get_column("raw").unique(), lexicon)
    tokens = tokens.lazy().join(vocabulary.lazy(), on="raw", how="left", maintain_order="left")
    per_text = _score_tokens(tokens, lexicon, rules).collect()
    out[per_text.get_column("rid").to_numpy()] = per_text.get_column("score").to_numpy()
    return out


def _vocabulary(raw: pl.Series, lexicon: Lexicon) -> pl.DataFrame:
    """Per distinct raw token: its lexicon form and word-level attributes (cheap: few thousand)."""
    canon = [lexicon.canonical(token) for token in raw.to_list()]
    unigrams = lexicon.phrases[1]
    return pl.DataFrame(
        {
            "raw": raw,
            "tok": canon,
            "v1": [unigrams.get(token) for token in canon],
            "negator": [token in lexicon.negators for token in canon],
            "boost": [lexicon.boosters.get(token) for token in canon],
            "post": [lexicon.post_boosters.get(token) for token in canon],
            "contrast": [token in lexicon.contrasts for token in canon],
            "concede": [token in lexicon.concessions for token in canon],
            "mark": [token in CLAUSE_MARKS for token in canon],
        },
        schema_overrides={"v1": pl.Float64, "boost": pl.Float64, "post": pl.Float64},
    )


def _score_tokens(tokens: pl.LazyFrame, lexicon: Lexicon, rules: Rules) -> pl.LazyFrame:
    """Apply phrase matching, negation, boosters, contrast and emphasis; sum per text."""
    tok, rid = pl.col("tok"), pl.col("rid")

    def ahead(column: str, k: int) -> pl.Expr:
        """Value k tokens ahead in the same text (null past its end)."""
        return pl.when(rid.shift(-k) == rid).then(pl.col(column).shift(-k))

    def behind_in_clause(column: str, k: int) -> pl.Expr:
        """Value k tokens back in the same clause (null across a clause mark)."""
        return pl.when(pl.col("clause").shift(k) == pl.col("clause")).then(pl.col(column).shift(k))

    def ahead_in_clause(column: str, k: int) -> pl.Expr:
        """Value k tokens ahead in the same clause."""
        return pl.when(pl.col("clause").shift(-k) == pl.col("clause")).then(pl.col(column).shift(-k))

    clause_break = pl.col("mark") | pl.col("contrast") | (rid != rid.shift(1)).fill_null(True)
    frame = tokens.with_columns(clause=clause_break.cum_sum(), bang=pl.col("raw") == "!")

    # Phrases: the longest lexicon phrase starting at each token; tokens it covers score nothing.
    grams = [tok] + [ahead("tok", k) for k in range(1, MAX_PHRASE)]
    frame = frame.with_columns(
        [pl.concat_str(grams[:n], separator=" ").alias(f"g{n}") for n in range(2, MAX_PHRASE + 1)]
    )
    for n in range(2, MAX_PHRASE + 1):
        table = lexicon.phrase_table.lazy().rename({"gram": f"g{n}", "valence": f"v{n}"})
        frame = frame.join(table, on=f"g{n}", how="left", maintain_order="left")
    valence = pl.coalesce([pl.col(f"v{n}") for n in range(MAX_PHRASE, 0, -1)])
    length = pl.coalesce(
        [pl.when(pl.col(f"v{n}").is_not_null()).then(pl.lit(n)) for n in range(MAX_PHRASE, 0, -1)]
    )
    frame = frame.with_columns(valence=valence, length=length.fill_null(0))
    covered = pl.any_horizontal(
        [(pl.when(rid.shift(k) == rid).then(pl.col("length").shift(k)) > k).fill_null(False)
         for k in range(1, MAX_PHRASE)]
    )
    frame = frame.with_columns(covered=covered).with_columns(
        valence=pl.when(~pl.col("covered")).then(pl.col("valence"))
    )

    # Intensifiers before (decaying with distance) and after ("gostei demais") the scored unit.
    boost = pl.sum_horizontal(
        [behind_in_clause("boost", k).fill_null(0.0) * decay for k, decay in enumerate(rules.booster_decay, 1)]
    )
    post = pl.coalesce([pl.when(pl.col("length") == n).then(ahead("post", n)) for n in range(1, MAX_PHRASE + 1)])
    boost = boost + post.fill_null(0.0)
    value = pl.col("valence") + pl.col("valence").sign() * boost

    # Negation: any negator within the window of the same clause flips and damps the unit.
    negated = pl.any_horizontal(
        [behind_in_clause("negator", k).fill_null(False) for k in range(1, rules.negation_window + 1)]
    )
    # Units that open with a negator ("nenhum problema", "não recebi") are immune: Portuguese
    # negative concord ("não tive nenhum problema") stacks negators instead of cancelling them.
    negated = negated & ~pl.col("negator")
    value = pl.when(negated).then(value * rules.negation_factor).otherwise(value)

    # Contrast: weight by position relative to the first "mas" of the text; concession by clause.
    seen_contrast = pl.col("contrast").cum_sum().over("rid")
    has_contrast = pl.col("contrast").any().over("rid")
    weight = (
        pl.when(seen_contrast > 0).then(rules.after_contrast)
        .when(has_contrast).then(rules.before_contrast)
        .otherwise(1.0)
    )
    conceded = pl.col("concede").cum_sum().over("clause") > 0
    weight = weight * pl.when(conceded).then(rules.conceded).otherwise(1.0)

    # A negator that negates no scored unit still leans negative in complaints ("produto não veio").
    negates_something = pl.any_horizontal(
        [ahead_in_clause("valence", k).is_not_null() for k in range(1, rules.negation_window + 1)]
    ).fill_null(False)
    is_bare = pl.col("negator") & ~negates_something & ~pl.col("covered") & pl.col("valence").is_null()
    bare = pl.when(is_bare).then(rules.bare_negator)

    frame = frame.with_columns(unit=(value.fill_null(0.0) + bare.fill_null(0.0)) * weight)
    total = pl.col("unit").sum()
    emphasis = pl.col("bang").sum().clip(upper_bound=rules.max_exclamations) * rules.exclamation
    return frame.group_by("rid").agg(score=total + total.sign() * emphasis)
