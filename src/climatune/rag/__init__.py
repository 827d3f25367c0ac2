"""Retrieval-augmented generation over the corpus: chunk -> embed -> index (FAISS) -> questions ->
retrieve (quality and latency per index) -> generate (base / fine-tuned, with and without retrieval)
-> benchmark. Each module is one stage and runs alone as `python -m climatune.rag.<stage>`."""
