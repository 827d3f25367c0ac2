"""Masked-span questions: a fact removed from a held-out sentence and the rest reworded into a question.

A sentence's answer span is a number with its unit or percent ("about 7 percent", "49.6 °C",
"USD 100 billion"), a count ("70,000" of "70,000 excess deaths"), a year or decade, or a named entity
/ capitalised multiword term ("British Columbia", "Paris Agreement", "IPCC"), in that order of
preference. The span is replaced in place by a question phrase (how much / what percentage / how many
degrees / which year / what ...), filler words (articles, auxiliaries, most prepositions, pronouns) are
dropped, and the question is framed as "According to <document title>: ...?". Dropping filler words
cuts the sentence's word runs into short pieces; any run still longer than `max_run` words loses every
(max_run + 1)-th word. `shared_run` (the longest run of consecutive words the question shares with
its source sentence, compared lower-case without punctuation) is stored with every question, and a
candidate whose question still shares more than `max_run` words in a row (e.g. through its title) is
not used.

The key (what a correct answer must contain) is the number without hedge, currency or unit ("7" of
"about 7 percent"), the year, or the term; the reference answer is the span as written.
"""

from __future__ import annotations

import re

FILLER = frozenset(
    "a an the of to in on at by for from with as into onto over is are was were be been being am has have "
    "had do does did that which who whom whose this these those it its they them their there here and or but "
    "so such also can could may might will would shall should must than then thus however while whereas "
    "very both either each per".split())
KEEP = frozenset("not no nor never without".split())  # dropping these would invert the meaning
HEDGE = r"(?:(?:about|around|roughly|approximately|nearly|almost|some|over|under|up to|at least|at most|" \
        r"more than|less than|fewer than|close to)\s+)"
_NUM = r"\d+(?:[.,]\d+)*"
_RANGE = rf"{_NUM}(?:\s?(?:-|–|to|±)\s?{_NUM})?"
# unit -> question phrase; tried in this order (longer spellings first)
UNITS = (
    (r"%|percent|per cent|percentage points?", "what percentage"),
    (r"°\s?C|°\s?F|degrees? Celsius|K", "how many degrees"),
    (r"ppm|ppb|parts per million", "what concentration"),
    (r"GtCO2(?:-?eq)?|GtC|Gt|MtCO2(?:-?eq)?|Mt|gigatonnes?|tonnes?", "how many tonnes"),
    (r"mm|cm|km|m|(?:milli|centi|kilo)?metres?|(?:milli|centi|kilo)?meters?|miles?|inches", "how much"),
    (r"W\s?m-2|W/m2|W m−2|watts? per square metre", "what forcing"),
    (r"years?|decades?|centuries|months?|days?", "how long"),
    (r"(?:million|billion|trillion)(?:\s(?:people|hectares|tonnes))?|hectares|ha", "how many"),
    (r"times", "how many times"),
)
_UNIT_RE = [(re.compile(rf"^{HEDGE}?(?:(?:US\$|\$|USD\s?|€)\s?)?{_RANGE}\s?(?:{u})(?![A-Za-z0-9])"), wh)
            for u, wh in UNITS]
_MONEY = re.compile(rf"^{HEDGE}?(?:US\$|\$|USD\s?|€)\s?{_RANGE}(?:\s?(?:million|billion|trillion))?")
_YEAR = re.compile(r"^(?:1[6-9]|20)\d\d(?:s)?(?!\d|[.,]\d|\w)")
_YEARS = re.compile(r"^(?:1[6-9]|20)\d\d\s?(?:-|–|to)\s?(?:(?:1[6-9]|20)\d\d|\d\d)(?!\d|[.,]\d)")
_COUNT = re.compile(rf"^{HEDGE}?{_NUM}(?![\d.,]*\d)")
_HEDGE_ONLY = re.compile(rf"^{HEDGE}", re.I)
_CAP = re.compile(r"^(?:[A-Z][\w'’-]*[A-Za-z0-9]|[A-Z]{2,}\d*)$")
CAPITALISED = 0.4  # share of capitalised words above which a sentence is a list of names
_JOIN = frozenset("of for on de du la the".split())


def words(text: str) -> list[str]:
    """Lower-case words without surrounding punctuation (what shared_run compares)."""
    return [w for w in (re.sub(r"^\W+|\W+$", "", t.lower()) for t in text.split()) if w]


def shared_run(question: str, source: str) -> int:
    """The longest run of consecutive words that `question` shares with `source` (see words())."""
    a, b = words(question), words(source)
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                cur[j + 1] = prev[j] + 1
                best = max(best, cur[j + 1])
        prev = cur
    return best


def _number_span(tail: str) -> tuple[int, str, str] | None:
    """(length, key, question phrase) of a number span at the start of `tail`, or None."""
    for rx, wh in (*_UNIT_RE, (_MONEY, "how much money")):
        m = rx.match(tail)
        if m:
            return m.end(), _number_key(m.group(0)), wh
    m = _YEARS.match(tail) or _YEAR.match(tail)
    if m:
        wh = "which period" if len(m.group(0)) > 5 else "which decade" if m.group(0).endswith("s") else "which year"
        return m.end(), m.group(0), wh
    m = _COUNT.match(tail)
    if m:
        key = _HEDGE_ONLY.sub("", m.group(0))
        noun = re.match(r"\s+([a-z][a-z-]+)", tail[m.end():])
        hedged_or_large = key != m.group(0) or int(re.sub(r"\D", "", key)) >= 100
        if noun is not None and noun.group(1) not in FILLER and not re.search(r"\.\d", key) and hedged_or_large:
            return m.end(), key, "how many"  # a count: "around 70,000 excess deaths"
    # a bare number ("categories 4 and 5"), or a small unhedged one, in extracted text often a footnote
    # mark ("sustainable 27 development"), makes no question
    return None


def _number_key(span: str) -> str:
    """The number a correct answer must contain: the value or range without hedge, currency or unit;
    the central value of "2400±240"."""
    return re.search(_RANGE, span).group(0).split("±")[0].strip()


RANK = {"how many": 1, "which year": 2, "which decade": 2, "which period": 2}  # any unit: 0
_REFERENCE = re.compile(r"(?:Figure|Fig\.|Table|Section|Chapter|Box|Annex|page|p\.|pp\.|Article|Decision)\s*$", re.I)


def find_span(sentence: str) -> tuple[int, int, str, str] | None:
    """(start, end, key, question phrase) of the best answer span of `sentence`, or None: the first
    number with a unit, money, year or count; else the first capitalised term (see the module)."""
    found = []
    for m in re.finditer(rf"(?<![\w.,±–−-]){HEDGE}?(?=[\d$€U])", sentence):
        hit = _number_span(sentence[m.start():])
        if hit and m.start() > 0 and not _REFERENCE.search(sentence[: m.start()]):
            length, key, wh = hit
            found.append((RANK.get(wh, 0), m.start(), m.start() + length, key.strip(), wh))
    if found:
        _, s, e, key, wh = min(found)
        return s, e, key, wh
    return _entity_span(sentence)


def _entity_span(sentence: str) -> tuple[int, int, str, str] | None:
    """The first run of two or more capitalised words (joined by of/for/on/the) after the first word;
    else the first lone acronym ("IPCC"; not formulas such as CO2) or hyphenated term
    ("Clausius-Clapeyron"); None if there is none."""
    toks = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"\S+", sentence)]
    bare = [re.sub(r"^[\"'(]+|[\"'),.;:!?]+$", "", t) for _, _, t in toks]
    found, i = [], 1
    while i < len(toks):
        if not _CAP.match(bare[i]):
            i += 1
            continue
        j = i + 1
        while j < len(toks) and toks[j - 1][2].endswith(bare[j - 1]) and toks[j][2].startswith(bare[j]) and (
                _CAP.match(bare[j]) or (bare[j] in _JOIN and j + 1 < len(toks) and _CAP.match(bare[j + 1]))):
            j += 1  # punctuation around a word ends the term
        while j - 1 > i and bare[j - 1] in _JOIN:
            j -= 1
        term = " ".join(bare[i:j])
        if bare[i] != "See" and (j - i >= 2 or re.fullmatch(r"[A-Z]{2,}|[A-Z]\w+-[A-Z]\w+", term)):
            start = toks[i][0] + toks[i][2].index(bare[i])  # "See X": a glossary cross-reference
            end = toks[j - 1][0] + toks[j - 1][2].index(bare[j - 1]) + len(bare[j - 1])
            found.append((j - i < 2, start, end))
        i = j
    if not found:
        return None
    _, start, end = min(found)
    return start, end, sentence[start:end], "what"


def _clue(sentence: str, start: int, end: int, wh: str, max_run: int) -> str:
    """The sentence with [start, end) replaced by `wh`, filler words dropped and runs of more than
    `max_run` source words broken."""
    def kept(text: str, offset: int) -> list[tuple[int, str]]:
        out = []
        for n, m in enumerate(re.finditer(r"\S+", text)):
            w = re.sub(r"^[\"'(\[]+|[\"')\],.;:!?]+$", "", m.group(0))
            if w and (w.lower() not in FILLER or w.lower() in KEEP):
                out.append((offset + n, w))
        return out

    left, right = sentence[:start], sentence[end:]
    n_left = len(left.split())
    toks = kept(left, 0) + [(-10, wh)] + kept(right, n_left + 1)
    out, run, prev = [], 0, None
    for pos, w in toks:
        run = run + 1 if prev is not None and pos == prev + 1 else 1
        if run > max_run:
            prev, run = None, 0  # drop this word: the run is cut here
            continue
        out.append(w)
        prev = pos
    return " ".join(out)


def masked_question(sentence: str, title: str, max_run: int) -> dict | None:
    """{question, answer, key, shared_run} for one sentence, or None when it has no answer span or
    its question would share more than `max_run` consecutive words with it."""
    tokens = sentence.split()
    if sum(t[:1].isupper() for t in tokens) > CAPITALISED * len(tokens):
        return None  # a list of names (authors, countries): no statement to ask about
    span = find_span(sentence)
    if span is None:
        return None
    start, end, key, wh = span
    clue = _clue(sentence, start, end, wh, max_run)
    if len(clue.split()) < 4:
        return None
    question = f"According to {title}: {clue}?"
    run = shared_run(question, sentence)
    if run > max_run:
        return None
    answer = sentence[start:end].strip().rstrip(".,;:")
    return {"question": question, "answer": answer, "key": key.rstrip(".,;:"), "shared_run": run}


def document_title(text: str, doc: str) -> str:
    """The first line of a document's text when it reads like a title (2-15 words, mostly letters, not
    all capitals: running headers such as "UNITED NATIONS" are), else the document id with spaces."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    letters = sum(ch.isalpha() or ch.isspace() for ch in first)
    if 2 <= len(first.split()) <= 15 and letters >= 0.8 * len(first) and not first.isupper():
        return f'"{first.rstrip(".:")}"'
    return id_title(doc)


def id_title(doc: str) -> str:
    return f'"{doc.replace("_", " ")}"'


def cloze_key(continuation: str) -> str:
    """What a continuation must contain: its first number or term (find_span), else its first content
    word (not a filler word, 3+ letters), else its first word."""
    span = find_span("x " + continuation)  # find_span never takes a sentence's first word
    if span:
        return span[2]
    ws = [w for w in re.sub(r"^\W+|\W+$", "", continuation).split() if w]
    content = [w.strip(".,;:!?()\"'") for w in ws if w.lower().strip(".,;:!?()\"'") not in FILLER]
    return next((w for w in content if len(w) >= 3), ws[0].strip(".,;:!?") if ws else continuation)
