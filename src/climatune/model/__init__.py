"""The model stages (workflow/rules/model.smk): prepare_model -> probe -> finetune -> perplexity. Each
module is its rule's code and runs alone as `python -m climatune.model.<rule>`; training holds the
builders they share (model, optimizer, schedule, loss, data), so the probe measures what finetune runs."""
