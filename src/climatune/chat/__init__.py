"""The chat UI over the workflow's results: base or fine-tuned model, with or without retrieval.

Not a pipeline stage: it reads what the model and rag stages built (results/model/base,
results/finetune/merged, results/rag/chunks.jsonl and the index of rag.generate.index) and serves a
Gradio page. engine.py holds what is not drawing (inputs, lazy loading, retrieval, streaming), app.py
the page and the command line. Start it with `python -m climatune.chat` or `snakemake chat --cores 1`.
"""

from .app import main as main
