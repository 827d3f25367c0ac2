"""A bitsandbytes NF4 model that computes in the dtype it was built with, on every CPU."""

from __future__ import annotations


def keep_nf4_unpacked(model) -> int:
    """Stop bitsandbytes (0.50) from repacking NF4 weights for its CPU inference kernel: on CPUs with
    AVX512-bf16 the first forward in eval mode without grad repacks a Linear4bit's weights for good, after
    which it computes in bf16 whatever the compute dtype and passes no gradient to its input (measured
    here: a 3-step fp32 run evaluated before training reached held-out perplexity 34.81 instead of 32.08;
    perplexity's "as trained" NF4 models were scored in bf16). Returns the layers changed."""
    n = 0
    for m in model.modules():
        if getattr(m, "support_avx512bf16_for_cpu", False):
            m.support_avx512bf16_for_cpu, n = False, n + 1
    return n
