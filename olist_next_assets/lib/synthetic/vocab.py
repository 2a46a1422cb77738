"""Public vocabulary of the Olist release: categories, states, cities, Portuguese review phrases.

Category names (and their English translations, typos included) are the release's schema
vocabulary; city names and coordinates are public geography. The review phrases are written for
this generator (no real comment is reused) and carry the sentiment of the review score.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One product category and how its products look and behave.

    ``products`` is the real product count (the catalogue's category weights); ``price`` the
    median item price in BRL; ``weight_g`` the median product weight; ``repeat`` the additive
    effect on the logit of buying again (consumables bring customers back, furniture does not);
    ``nouns`` the Portuguese noun phrases (with article) that review texts use for its products.
    """

    name: str
    english: str | None
    products: int
    price: float
    weight_g: float
    repeat: float
    nouns: tuple[str, ...] = ()


def _c(name: str, english: str | None, products: int, price: float, weight_g: float, repeat: float, *nouns: str):
    return Category(name, english, products, price, weight_g, repeat, nouns)


# The 73 categories; the translation table of the release lacks the two with english=None.
CATEGORIES: tuple[Category, ...] = (
    _c("cama_mesa_banho", "bed_bath_table", 3029, 82, 1500, 0.075, "o jogo de lençol", "a toalha de banho", "o edredom", "a colcha"),
    _c("esporte_lazer", "sports_leisure", 2867, 82, 600, 0, "a bola", "o kit de halteres", "a garrafa de água"),
    _c("moveis_decoracao", "furniture_decor", 2657, 62, 1500, -0.15, "o quadro", "a luminária", "o espelho", "o tapete"),
    _c("beleza_saude", "health_beauty", 2444, 82, 400, 0.45, "o creme", "o hidratante", "o kit de maquiagem"),
    _c("utilidades_domesticas", "housewares", 2335, 62, 900, 0.075, "a panela", "o jogo de copos", "o organizador"),
    _c("automotivo", "auto", 1900, 82, 700, 0, "a capa de banco", "o tapete do carro", "a lâmpada do farol"),
    _c("informatica_acessorios", "computers_accessories", 1639, 72, 400, 0.075, "o mouse", "o teclado", "o cabo", "o suporte para notebook"),
    _c("brinquedos", "toys", 1411, 82, 700, 0, "o brinquedo", "o quebra-cabeça", "o carrinho"),
    _c("relogios_presentes", "watches_gifts", 1329, 134, 350, -0.15, "o relógio"),
    _c("telefonia", "telephony", 1134, 31, 150, 0.075, "a capinha", "o carregador", "a película", "o fone de ouvido"),
    _c("bebes", "baby", 919, 82, 1000, 0.225, "a mamadeira", "o kit berço", "o carrinho de bebê"),
    _c("perfumaria", "perfumery", 868, 82, 300, 0.375, "o perfume", "a colônia"),
    _c("fashion_bolsas_e_acessorios", "fashion_bags_accessories", 849, 41, 400, 0.15, "a bolsa", "a carteira", "a mochila"),
    _c("papelaria", "stationery", 849, 52, 350, 0.225, "o caderno", "o estojo", "a agenda"),
    _c("cool_stuff", "cool_stuff", 789, 134, 1000, 0),
    _c("ferramentas_jardim", "garden_tools", 753, 72, 1000, -0.075, "a mangueira", "o kit de ferramentas"),
    _c("pet_shop", "pet_shop", 719, 62, 700, 0.525, "a ração", "a caminha do pet", "o arranhador"),
    _c("eletronicos", "electronics", 517, 31, 250, 0, "o fone de ouvido", "a caixa de som"),
    _c("construcao_ferramentas_construcao", "construction_tools_construction", 400, 82, 1200, -0.15, "a furadeira", "o kit de ferramentas"),
    _c("eletrodomesticos", "home_appliances", 370, 62, 2500, -0.3, "o liquidificador", "a batedeira", "o aspirador"),
    _c("malas_acessorios", "luggage_accessories", 349, 144, 3000, -0.225, "a mala", "a mochila"),
    _c("consoles_games", "consoles_games", 317, 62, 400, 0.15, "o controle", "o jogo"),
    _c("moveis_escritorio", "office_furniture", 309, 175, 10000, -0.375, "a cadeira de escritório", "a mesa"),
    _c("instrumentos_musicais", "musical_instruments", 289, 154, 1500, -0.075, "o violão", "o teclado"),
    _c("eletroportateis", "small_appliances", 231, 124, 2000, -0.225, "a cafeteira", "a sanduicheira", "o ferro de passar"),
    _c("casa_construcao", "home_construction", 225, 72, 1500, -0.225, "a torneira", "o chuveiro"),
    _c("livros_interesse_geral", "books_general_interest", 216, 41, 400, 0.45, "o livro"),
    _c("fashion_calcados", "fashion_shoes", 173, 72, 700, 0.075, "o tênis", "a sandália"),
    _c("moveis_sala", "furniture_living_room", 156, 124, 6000, -0.375, "o rack", "a estante", "o sofá"),
    _c("climatizacao", "air_conditioning", 124, 103, 3000, -0.375, "o ventilador", "o ar condicionado"),
    _c("livros_tecnicos", "books_technical", 123, 62, 500, 0.375, "o livro"),
    _c("telefonia_fixa", "fixed_telephony", 116, 103, 500, -0.15, "o telefone sem fio"),
    _c("casa_conforto", "home_confort", 111, 82, 1500, 0, "o travesseiro", "a almofada"),
    _c("market_place", "market_place", 104, 82, 800, 0),
    _c("alimentos_bebidas", "food_drink", 104, 41, 800, 0.6, "o café", "o chá"),
    _c("fashion_roupa_masculina", "fashion_male_clothing", 95, 72, 300, 0.15, "a camiseta", "a camisa"),
    _c("moveis_cozinha_area_de_servico_jantar_e_jardim", "kitchen_dining_laundry_garden_furniture", 94, 124, 8000, -0.375, "a mesa de jantar", "o armário"),
    _c("sinalizacao_e_seguranca", "signaling_and_security", 93, 72, 500, -0.075, "a placa", "a câmera de segurança"),
    _c("construcao_ferramentas_seguranca", "construction_tools_safety", 91, 103, 800, -0.075, "o cadeado", "a fechadura"),
    _c("eletrodomesticos_2", "home_appliances_2", 90, 412, 8000, -0.45, "o fogão", "a lavadora"),
    _c("construcao_ferramentas_jardim", "costruction_tools_garden", 88, 82, 1500, -0.075, "o regador", "a tesoura de poda"),
    _c("alimentos", "food", 82, 41, 800, 0.6, "o café", "o azeite"),
    _c("bebidas", "drinks", 81, 41, 1200, 0.6, "o vinho", "o suco"),
    _c("construcao_ferramentas_iluminacao", "construction_tools_lights", 78, 72, 500, -0.075, "a lâmpada", "a luminária"),
    _c("agro_industria_e_comercio", "agro_industry_and_commerce", 74, 237, 3000, 0, "o pulverizador"),
    _c("industria_comercio_e_negocios", "industry_commerce_and_business", 68, 103, 2000, 0, "a balança"),
    _c("artigos_de_natal", "christmas_supplies", 65, 41, 700, -0.3, "a árvore de natal", "o enfeite"),
    _c("audio", "audio", 58, 82, 500, 0, "a caixa de som", "o fone"),
    _c("artes", "art", 55, 82, 800, 0.075, "o quadro", "o kit de pintura"),
    _c("fashion_underwear_e_moda_praia", "fashion_underwear_beach", 53, 52, 200, 0.15, "o biquíni", "o pijama"),
    _c("dvds_blu_ray", "dvds_blu_ray", 48, 52, 150, 0.225, "o DVD"),
    _c("moveis_quarto", "furniture_bedroom", 45, 154, 8000, -0.375, "a cômoda", "a cabeceira"),
    _c("construcao_ferramentas_ferramentas", "costruction_tools_tools", 39, 82, 1500, -0.075, "o jogo de chaves"),
    _c("livros_importados", "books_imported", 31, 62, 400, 0.375, "o livro"),
    _c("portateis_casa_forno_e_cafe", "small_appliances_home_oven_and_coffee", 31, 464, 3000, -0.15, "a cafeteira", "o forno elétrico"),
    _c("pcs", "computers", 30, 1184, 6000, -0.45, "o computador"),
    _c("cine_foto", "cine_photo", 28, 93, 500, 0, "o tripé", "a câmera"),
    _c("fashion_roupa_feminina", "fashio_female_clothing", 27, 72, 300, 0.15, "o vestido", "a blusa"),
    _c("musica", "music", 27, 62, 200, 0.15, "o CD"),
    _c("artigos_de_festas", "party_supplies", 26, 52, 400, 0, "o kit festa"),
    _c("fashion_esporte", "fashion_sport", 19, 62, 300, 0.15, "a legging", "a camiseta"),
    _c("artes_e_artesanato", "arts_and_craftmanship", 19, 52, 500, 0.15, "o kit de artesanato"),
    _c("flores", "flowers", 14, 31, 300, 0.15, "o arranjo de flores"),
    _c("fraldas_higiene", "diapers_and_hygiene", 12, 41, 2000, 0.525, "o pacote de fraldas"),
    _c("portateis_cozinha_e_preparadores_de_alimentos", None, 10, 154, 3000, -0.15, "o processador de alimentos"),
    _c("la_cuisine", "la_cuisine", 10, 124, 2000, 0.225, "o jogo de facas", "a panela"),
    _c("moveis_colchao_e_estofado", "furniture_mattress_and_upholstery", 10, 124, 10000, -0.375, "o colchão"),
    _c("tablets_impressao_imagem", "tablets_printing_image", 9, 82, 600, 0, "o tablet", "a impressora"),
    _c("fashion_roupa_infanto_juvenil", "fashion_childrens_clothes", 5, 52, 300, 0.15, "o conjunto infantil"),
    _c("casa_conforto_2", "home_comfort_2", 5, 26, 800, 0, "a almofada"),
    _c("pc_gamer", None, 3, 206, 6000, -0.3, "o pc gamer"),
    _c("seguros_e_servicos", "security_and_services", 2, 288, 500, 0, "o serviço"),
    _c("cds_dvds_musicais", "cds_dvds_musicals", 1, 52, 150, 0.225, "o CD"),
)


@dataclass(frozen=True)
class State:
    """A Brazilian state: CEP prefix range, where it is, who lives and sells there, how far it is.

    ``customers`` and ``sellers`` are the real per-state counts (weights); ``delivery_days`` the
    mean days from purchase to delivery for customers there (distance from the SP hub);
    ``promise`` how generous the estimated delivery date is relative to that (a low value makes
    late deliveries common, as in AL and MA); ``repeat`` its effect on the logit of buying again.
    """

    code: str
    zip_lo: int
    zip_hi: int
    lat: float
    lng: float
    spread: float
    customers: int
    sellers: int
    delivery_days: float
    promise: float
    repeat: float
    capital_share: float
    cities: tuple[str, ...]


# Capital first; its coordinates are (lat, lng) of the state tuple's capital entry below.
STATES: tuple[State, ...] = (
    State("SP", 1000, 19999, -22.3, -48.6, 1.8, 41746, 1849, 8.3, 2.4, 0.15, 0.37, (
        "sao paulo", "campinas", "guarulhos", "sao bernardo do campo", "santo andre", "osasco", "santos",
        "sao jose dos campos", "sorocaba", "ribeirao preto", "jundiai", "barueri", "maua", "diadema",
        "mogi das cruzes", "carapicuiba", "piracicaba", "sao caetano do sul", "bauru", "taubate",
        "sao jose do rio preto", "praia grande", "itaquaquecetuba", "sao vicente", "guaruja", "cotia",
        "indaiatuba", "taboao da serra", "suzano", "americana", "limeira", "araraquara", "franca",
        "sao carlos", "marilia", "presidente prudente", "jacarei", "hortolandia", "sumare", "valinhos",
        "atibaia", "braganca paulista", "itu", "embu das artes", "santana de parnaiba", "mogi guacu",
        "rio claro", "botucatu", "catanduva", "ourinhos")),
    State("RJ", 20000, 28999, -22.3, -42.7, 0.9, 12852, 171, 14.8, 1.72, -0.075, 0.54, (
        "rio de janeiro", "niteroi", "nova iguacu", "sao goncalo", "duque de caxias", "petropolis",
        "campos dos goytacazes", "volta redonda", "macae", "nova friburgo", "teresopolis", "belford roxo",
        "sao joao de meriti", "mage", "itaborai", "angra dos reis", "cabo frio", "resende", "barra mansa",
        "marica", "nilopolis", "queimados", "rio das ostras", "araruama")),
    State("ES", 29000, 29999, -19.6, -40.6, 0.8, 2033, 23, 15.3, 1.88, -0.075, 0.2, (
        "vitoria", "vila velha", "serra", "cariacica", "cachoeiro de itapemirim", "linhares", "guarapari",
        "colatina", "sao mateus", "aracruz")),
    State("MG", 30000, 39999, -18.5, -44.5, 2.8, 11635, 244, 11.5, 2.09, 0, 0.24, (
        "belo horizonte", "juiz de fora", "uberlandia", "contagem", "betim", "montes claros", "uberaba",
        "governador valadares", "ipatinga", "divinopolis", "sete lagoas", "pocos de caldas", "varginha",
        "patos de minas", "pouso alegre", "teofilo otoni", "barbacena", "santa luzia", "ribeirao das neves",
        "nova lima", "lavras", "itajuba", "muriae", "conselheiro lafaiete", "vespasiano", "passos",
        "ituiutaba", "araxa", "formiga", "vicosa")),
    State("BA", 40000, 48999, -12.5, -41.7, 2.8, 3380, 19, 18.9, 1.67, -0.15, 0.37, (
        "salvador", "feira de santana", "vitoria da conquista", "lauro de freitas", "camacari", "itabuna",
        "ilheus", "juazeiro", "barreiras", "jequie", "alagoinhas", "porto seguro", "teixeira de freitas",
        "simoes filho", "paulo afonso", "santo antonio de jesus", "eunapolis", "luis eduardo magalhaes")),
    State("SE", 49000, 49999, -10.6, -37.4, 0.4, 350, 2, 21.0, 1.67, -0.15, 0.5, (
        "aracaju", "nossa senhora do socorro", "lagarto", "itabaiana", "sao cristovao", "estancia")),
    State("PE", 50000, 56999, -8.4, -37.5, 1.5, 1652, 9, 18.0, 1.82, -0.15, 0.37, (
        "recife", "jaboatao dos guararapes", "olinda", "paulista", "caruaru", "petrolina",
        "cabo de santo agostinho", "camaragibe", "garanhuns", "vitoria de santo antao", "igarassu",
        "sao lourenco da mata", "abreu e lima", "santa cruz do capibaribe", "serra talhada")),
    State("AL", 57000, 57999, -9.6, -36.6, 0.5, 413, 0, 24.0, 1.41, -0.15, 0.55, (
        "maceio", "arapiraca", "rio largo", "palmeira dos indios", "uniao dos palmares", "penedo")),
    State("PB", 58000, 58999, -7.2, -36.7, 0.8, 536, 6, 20.0, 1.88, -0.15, 0.4, (
        "joao pessoa", "campina grande", "santa rita", "patos", "bayeux", "cabedelo", "sousa", "cajazeiras")),
    State("RN", 59000, 59999, -5.8, -36.6, 0.8, 485, 5, 18.8, 1.88, -0.15, 0.45, (
        "natal", "mossoro", "parnamirim", "sao goncalo do amarante", "caico", "macaiba", "ceara-mirim")),
    State("CE", 60000, 63999, -5.2, -39.5, 1.5, 1336, 13, 20.8, 1.67, -0.15, 0.49, (
        "fortaleza", "caucaia", "juazeiro do norte", "maracanau", "sobral", "crato", "itapipoca",
        "maranguape", "iguatu", "quixada", "aquiraz", "eusebio")),
    State("PI", 64000, 64999, -7.7, -42.7, 2.0, 495, 1, 19.0, 1.62, -0.15, 0.45, (
        "teresina", "parnaiba", "picos", "piripiri", "floriano", "campo maior")),
    State("MA", 65000, 65999, -5.0, -45.3, 2.2, 747, 1, 21.1, 1.46, -0.15, 0.33, (
        "sao luis", "imperatriz", "sao jose de ribamar", "timon", "caxias", "codo", "paco do lumiar",
        "acailandia", "bacabal", "balsas")),
    State("PA", 66000, 68899, -3.8, -52.5, 3.0, 975, 1, 23.3, 1.77, -0.15, 0.4, (
        "belem", "ananindeua", "santarem", "maraba", "castanhal", "parauapebas", "abaetetuba", "cameta",
        "braganca", "altamira", "tucurui", "barcarena", "marituba")),
    State("AP", 68900, 68999, 1.4, -51.8, 1.0, 68, 0, 26.7, 2.09, -0.15, 0.8, ("macapa", "santana", "laranjal do jari")),
    State("AM", 69000, 69299, -4.0, -63.0, 3.5, 148, 1, 26.0, 2.4, -0.15, 0.85, (
        "manaus", "parintins", "itacoatiara", "manacapuru", "coari")),
    State("RR", 69300, 69399, 2.0, -61.3, 1.2, 46, 0, 29.0, 1.98, -0.15, 0.9, ("boa vista", "rorainopolis", "caracarai")),
    State("AC", 69900, 69999, -9.0, -70.5, 1.2, 81, 1, 21.0, 2.3, -0.15, 0.8, ("rio branco", "cruzeiro do sul", "sena madureira")),
    State("DF", 70000, 72799, -15.8, -47.9, 0.2, 2140, 30, 12.5, 1.98, 0.075, 0.97, (
        "brasilia", "taguatinga", "ceilandia", "gama", "sobradinho", "planaltina", "aguas claras", "guara")),
    State("GO", 73700, 76799, -16.0, -49.6, 1.8, 2020, 40, 15.2, 2.04, 0, 0.35, (
        "goiania", "aparecida de goiania", "anapolis", "rio verde", "luziania", "aguas lindas de goias",
        "valparaiso de goias", "trindade", "formosa", "novo gama", "catalao", "itumbiara", "senador canedo",
        "jatai", "caldas novas")),
    State("RO", 76800, 76999, -10.9, -62.8, 1.6, 253, 2, 18.9, 2.5, -0.15, 0.4, (
        "porto velho", "ji-parana", "ariquemes", "vilhena", "cacoal", "rolim de moura")),
    State("TO", 77000, 77999, -10.2, -48.3, 2.0, 280, 0, 17.2, 2.09, -0.15, 0.3, (
        "palmas", "araguaina", "gurupi", "porto nacional", "paraiso do tocantins")),
    State("MT", 78000, 78899, -13.0, -56.0, 3.0, 907, 4, 17.6, 2.2, -0.075, 0.26, (
        "cuiaba", "varzea grande", "rondonopolis", "sinop", "tangara da serra", "caceres", "sorriso",
        "lucas do rio verde", "primavera do leste", "barra do garcas")),
    State("MS", 79000, 79999, -20.5, -54.8, 2.0, 715, 5, 15.2, 2.09, -0.075, 0.45, (
        "campo grande", "dourados", "tres lagoas", "corumba", "ponta pora", "navirai", "nova andradina",
        "aquidauana")),
    State("PR", 80000, 87999, -24.6, -51.6, 1.6, 5045, 349, 11.5, 2.2, 0.075, 0.3, (
        "curitiba", "londrina", "maringa", "ponta grossa", "cascavel", "sao jose dos pinhais", "foz do iguacu",
        "colombo", "guarapuava", "paranagua", "araucaria", "toledo", "apucarana", "pinhais", "campo largo",
        "arapongas", "almirante tamandare", "umuarama", "piraquara", "cambe", "campo mourao",
        "francisco beltrao", "pato branco", "fazenda rio grande")),
    State("SC", 88000, 89999, -27.3, -50.5, 1.2, 3637, 190, 14.5, 1.98, 0.075, 0.16, (
        "florianopolis", "joinville", "blumenau", "sao jose", "itajai", "chapeco", "criciuma", "palhoca",
        "jaragua do sul", "lages", "balneario camboriu", "brusque", "tubarao", "camboriu", "navegantes",
        "concordia", "rio do sul", "cacador", "gaspar", "biguacu")),
    State("RS", 90000, 99999, -29.8, -53.5, 1.8, 5466, 129, 14.8, 1.98, 0, 0.25, (
        "porto alegre", "caxias do sul", "pelotas", "canoas", "santa maria", "gravatai", "viamao",
        "novo hamburgo", "sao leopoldo", "rio grande", "alvorada", "passo fundo", "sapucaia do sul",
        "uruguaiana", "santa cruz do sul", "cachoeirinha", "bage", "bento goncalves", "erechim", "guaiba",
        "lajeado", "ijui", "santo angelo", "esteio", "sapiranga")),
)

CAPITAL_COORDS: dict[str, tuple[float, float]] = {
    "SP": (-23.55, -46.63), "RJ": (-22.91, -43.17), "ES": (-20.32, -40.34), "MG": (-19.92, -43.94),
    "BA": (-12.97, -38.50), "SE": (-10.91, -37.07), "PE": (-8.05, -34.88), "AL": (-9.67, -35.74),
    "PB": (-7.12, -34.86), "RN": (-5.79, -35.21), "CE": (-3.73, -38.52), "PI": (-5.09, -42.80),
    "MA": (-2.53, -44.30), "PA": (-1.46, -48.49), "AP": (0.03, -51.07), "AM": (-3.12, -60.02),
    "RR": (2.82, -60.67), "AC": (-9.97, -67.81), "DF": (-15.79, -47.88), "GO": (-16.69, -49.26),
    "RO": (-8.76, -63.90), "TO": (-10.18, -48.33), "MT": (-15.60, -56.10), "MS": (-20.47, -54.62),
    "PR": (-25.43, -49.27), "SC": (-27.60, -48.55), "RS": (-30.03, -51.23),
}

GENERIC_NOUNS: tuple[str, ...] = ("o produto", "o produto", "o item", "o pedido")

# ---------------------------------------------------------------------------------------------
# Review phrases. "{p}" is the product noun phrase, "{d}" / "{e}" how late / early ("3 dias"). Phrases
# avoid adjectives that agree with the noun's gender, so any noun fits any phrase.

POS_PRODUCT = (
    "{p} é de ótima qualidade", "{p} chegou em perfeito estado", "{p} é exatamente como na foto",
    "{p} atendeu todas as minhas expectativas", "{p} superou minhas expectativas", "produto excelente",
    "produto de qualidade, acabamento muito bom", "tudo certo com {p}", "{p} funciona perfeitamente",
    "adorei {p}", "material de primeira", "vale cada centavo", "ótimo custo benefício",
    "produto conforme a descrição", "estou muito satisfeita com {p}", "estou muito satisfeito com a compra",
    "veio tudo bem embalado", "veio tudo certinho", "minha filha amou {p}", "comprei para presente e a pessoa adorou",
    "{p} é igual ao anunciado", "gostei muito", "é a segunda vez que compro {p}, continuo satisfeita",
)
MIXED_PRODUCT = (
    "{p} atende, mas esperava mais", "produto razoável pelo preço", "qualidade mediana",
    "produto ok, porém menor do que parece na foto", "produto ok, nada de especial",
    "atende, mas o acabamento deixa a desejar", "a cor é um pouco diferente da foto",
    "cumpre o que promete, mas é simples", "{p} veio sem manual de instruções", "veio com um pequeno risco",
)
NEG_PRODUCT = (
    "{p} veio com defeito", "{p} veio diferente do anunciado", "{p} não funciona",
    "veio com uma peça quebrada", "a embalagem chegou toda amassada", "qualidade muito inferior ao anunciado",
    "{p} não corresponde à descrição", "produto de péssima qualidade", "veio faltando peças",
    "recebi o produto errado", "comprei duas unidades e recebi apenas uma", "o material é muito fraco",
    "{p} parou de funcionar em poucos dias", "mandaram a cor errada",
)
ONTIME_DELIVERY = (
    "chegou antes do prazo", "entrega super rápida", "a entrega foi muito rápida",
    "recebi bem antes da data prevista", "entregue dentro do prazo", "chegou no prazo combinado",
    "entrega rápida e eficiente", "chegou {e} antes do previsto", "o prazo de entrega foi cumprido",
)
LATE_SOFT = (
    "a entrega atrasou um pouco", "demorou mais que o previsto para chegar", "apesar do atraso na entrega",
    "chegou com {d} de atraso", "só achei que a entrega demorou", "o prazo não foi cumprido, mas chegou",
)
LATE_HARD = (
    "a entrega atrasou {d}", "o produto chegou muito depois do prazo", "prazo de entrega não foi respeitado",
    "demorou demais para chegar", "esperei {d} além do prazo", "entrega atrasada e sem nenhuma explicação",
    "atrasou e ninguém avisou nada",
)
NOT_DELIVERED = (
    "ainda não recebi o produto", "até agora não recebi meu pedido", "o pedido não foi entregue",
    "comprei e não recebi", "o prazo já venceu e o produto não chegou", "meu pedido foi cancelado sem explicação",
    "não chegou nada até hoje", "estou aguardando a entrega até agora", "o rastreamento não atualiza há dias",
)
POS_SELLER = (
    "vendedor muito atencioso", "loja confiável", "ótimo atendimento", "a loja respondeu rápido todas as dúvidas",
    "parabéns à loja", "parabéns ao vendedor", "recebi a nota fiscal certinho", "excelente parceiro",
)
MIXED_SELLER = ("o atendimento poderia ser melhor", "demoraram para responder", "o frete é um pouco caro")
NEG_SELLER = (
    "a loja não responde minhas mensagens", "péssimo atendimento", "entrei em contato e ninguém resolve",
    "o vendedor não deu nenhum retorno", "já fiz reclamação e nada", "ninguém responde o e-mail",
    "quero o meu dinheiro de volta",
)
POS_RECOMMEND = (
    "recomendo", "super recomendo", "recomendo a todos", "comprarei novamente", "com certeza vou comprar de novo",
    "nota 10", "muito obrigada", "obrigado", "estou feliz com a compra",
)
MIXED_RECOMMEND = ("por enquanto estou satisfeito", "vamos ver a durabilidade", "pelo preço, está ok", "poderia ser melhor")
NEG_RECOMMEND = (
    "não recomendo", "nunca mais compro", "não compro mais nessa loja", "estou decepcionado",
    "estou decepcionada", "uma vergonha", "que falta de respeito com o cliente",
)

POS_TITLES = (
    "Recomendo", "Super recomendo", "Ótimo", "Ótimo produto", "Muito bom", "Excelente", "Perfeito", "Nota 10",
    "Amei", "Adorei", "Satisfeito", "Satisfeita", "Tudo certo", "Chegou rápido", "Boa compra", "Bom",
)
MIXED_TITLES = ("Razoável", "Regular", "Mais ou menos", "Poderia ser melhor", "Ok", "Bom, mas...", "Esperava mais")
NEG_TITLES = ("Péssimo", "Não recomendo", "Ruim", "Horrível", "Decepcionado", "Produto com defeito", "Produto errado", "Insatisfeito")
LATE_TITLES = ("Atrasou", "Entrega atrasada", "Demorou", "Atraso na entrega")
NOT_DELIVERED_TITLES = ("Não recebi", "Não entregue", "Cadê meu pedido?", "Aguardando")

ACCENTS: dict[str, str] = {
    "á": "a", "à": "a", "â": "a", "ã": "a", "é": "e", "ê": "e", "í": "i", "ó": "o", "ô": "o", "õ": "o",
    "ú": "u", "ç": "c", "Á": "A", "À": "A", "Â": "A", "Ã": "A", "É": "E", "Ê": "E", "Í": "I", "Ó": "O",
    "Ô": "O", "Õ": "O", "Ú": "U", "Ç": "C",
}
