"""report_tables: the HTML pages of the report carry the numbers of their JSON/TSV sources."""

from __future__ import annotations

import json

from climatune.model import report_tables


def test_pages_carry_the_numbers_and_escape_text(tmp_path):
    (tmp_path / "manifest.tsv").write_text(
        "doc\tpages\tpages_used\tchars\tstatus\treason\tlanguage\tfile\tsha256\n"
        "a\t3\t3\t9000\tok\t\ten\ta.pdf\tx\n"
        "b\t0\t0\t0\tskipped\tnot a PDF <html>\t\tb.pdf\ty\n")
    (tmp_path / "probe.json").write_text(json.dumps({
        "device": "cpu", "budget_gib": 20.0, "seq_len": 256,
        "chosen": {"micro_batch": 2, "grad_accum": 4, "gradient_checkpointing": True, "why": "fastest"},
        "tries": [{"gradient_checkpointing": True, "micro_batch": 1, "fits": True, "tokens_per_s": 800.5,
                   "peak_gib": 1.25}, {"gradient_checkpointing": True, "micro_batch": 2, "fits": True,
                                       "tokens_per_s": 950.0, "peak_gib": 1.5}]}))
    ppl = {"tokens": 1000, "blocks": 4, "seq_len": 256, "documents": 2, "interval_method": "bootstrap",
           "base": {"perplexity": 30.5, "ci95": [28.0, 33.0]}, "tuned_as_trained": {"perplexity": 24.25,
                                                                                   "ci95": [22.0, 26.0]},
           "drop_pct": 20.49, "drop_pct_ci95": [15.0, 25.0]}
    (tmp_path / "ppl.json").write_text(json.dumps(ppl))
    (tmp_path / "par.json").write_text(json.dumps({"layouts": {"single": {"tokens_per_s": 100.0, "speedup": 1.0},
                                                               "dp2": {"tokens_per_s": 180.0, "speedup": 1.8}}}))
    (tmp_path / "export.json").write_text(json.dumps({
        "source": "merged", "dtype": "bfloat16", "safetensors_bytes": 2**21,
        "gguf": [{"type": "q8_0", "file": "model-q8_0.gguf", "bytes": 2**20, "sha256": "ab" * 32, "bits_per_weight": 8.5}],
        "gguf_check": {"loader": "llama-cpp-python 0.3.36", "prompt": "Sea", "generated": " level rises",
                       "generated_by": "model-q8_0.gguf", "passed": False, "failures": ["q/k RoPE layout"],
                       "files": [{"file": "model-q8_0.gguf", "top1_agreement": 0.875, "greedy_match_tokens": 3}]}}))
    (tmp_path / "precision.json").write_text(json.dumps({
        "device": "cpu", "skipped": {"bf16": "too slow: 12.5 s per step measured"},
        "precisions": {"fp16": {"tokens_per_s": 239.2, "peak_gib": 1.9, "first_loss": 3.3, "final_loss": 3.1,
                                "perplexity_before_training": 34.9, "perplexity": {"perplexity": 31.75},
                                "answers": {"bleu": 1.07, "rougeL": 0.0556, "chrf": 14.5},
                                "loss_scaling": {"init_scale": 65536, "final_scale": 32768.0, "skipped_steps": [4]}}}}))
    (tmp_path / "hpo.json").write_text(json.dumps({
        "eta": 2, "rungs": [{"rung": 0, "trials": 2, "steps": 2}, {"rung": 1, "trials": 1, "steps": 4}], "apply": True,
        "best": {"params": {"lr": 0.002, "lora_r": 8}, "val_loss": 3.25, "steps": 4},
        "trials": [{"rung": 0, "slot": "t1", "params": {"lr": 0.002, "lora_r": 8}, "steps": 2, "val_loss": 3.5,
                    "parent": None}, {"rung": 1, "slot": "t0", "params": {"lr": 0.002, "lora_r": 8}, "steps": 4,
                                      "val_loss": 3.25, "parent": {"rung": 0, "slot": "t1"}}]}))
    out = tmp_path / "out"
    written = report_tables.run(out, tmp_path / "manifest.tsv", tmp_path / "probe.json", tmp_path / "ppl.json",
                                tmp_path / "par.json", {"train": {"lr": 0.001}}, tmp_path / "export.json",
                                tmp_path / "precision.json", tmp_path / "hpo.json")
    assert {p.name for p in written} == {"corpus.html", "probe.html", "parallel.html", "environment.html",
                                         "perplexity.html", "perplexity.png", "export.html", "precision.html", "hpo.html"}
    hpo = (out / "hpo.html").read_text()
    assert "Winner: lr=0.002, lora_r=8" in hpo and "rung 0 t1" in hpo and "hpo.apply" in hpo
    prec = (out / "precision.html").read_text()
    assert "239.2" in prec and "31.75" in prec and "65536 → 32768, skipped [4]" in prec and "12.5 s per step" in prec
    export = (out / "export.html").read_text()
    assert "FAILED: q/k RoPE layout" in export and "0.875" in export and "abababab" in export and "“ level rises”" in export
    corpus = (out / "corpus.html").read_text()
    assert "not a PDF &lt;html&gt;" in corpus and "9000" in corpus
    assert "950" in (out / "probe.html").read_text() and "micro-batch 2 x accumulation 4" in (out / "probe.html").read_text()
    p = (out / "perplexity.html").read_text()
    assert "30.5" in p and "28.000 – 33.000" in p and "20.49" in p
    assert "1.8" in (out / "parallel.html").read_text()
    env = (out / "environment.html").read_text()
    assert "lr: 0.001" in env and "transformers" in env
    assert (out / "perplexity.png").stat().st_size > 5000
