"""The corpus stages (workflow/rules/corpus.smk): demo_corpus -> extract_text (one job per PDF) ->
manifest -> split -> tokenize. Each module is its rule's code and runs alone as
`python -m climatune.corpus.<rule>`; language is a helper of extract_text."""
