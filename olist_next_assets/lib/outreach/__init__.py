"""The retention campaign: whom to contact, coupon codes, prompts, guardrails, the template
writer and the batch that calls the LLM through litellm. Pure code, no Dagster."""
