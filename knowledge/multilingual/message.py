"""A message prepared for one language: its words (after shorthand and elision) with their
lexicon word ids, clauses (punctuation, clause words, hedges), sentences and negations."""

from __future__ import annotations

from knowledge.multilingual.fold import (
    CLAUSE_PUNCT,
    SENTENCE_PUNCT,
    STACCATO_RUN,
    TOKEN,
    Token,
    fold_with_map,
    split_word,
    times_word,
)
from knowledge.multilingual.lexicon import LanguagePack


class Message:
    """A message prepared for one language: tokens, their lexicon words, clauses, negations."""

    def __init__(self, pack: LanguagePack, raw: str) -> None:
        self.pack = pack
        self.raw = raw
        pieces = self._pieces(raw)
        read = [pack.read_word(text) for text, _, _, _ in pieces]
        words = [r[0] for r in read]
        hedged = self._hedges(words)
        self.tokens: list[Token] = []
        self.words: list[frozenset[int]] = []
        self.negation: list[bool] = []
        self.conditional: list[bool] = []
        self.fuzzy: list[bool] = []
        clause = 0
        sentence = 0
        self.sentences: list[int] = []
        last = 0
        for i, (text, start, end, breaks) in enumerate(pieces):
            if breaks or i in hedged:
                clause += 1
            if SENTENCE_PUNCT.search(raw, last, start):
                sentence += 1
            last = max(last, end)
            if i in hedged:
                continue
            self.sentences.append(sentence)
            self.tokens.append(Token(text, start, end, clause))
            self.words.append(words[i])
            self.negation.append(text in pack.negations or read[i][1] == "negative")
            self.conditional.append(read[i][1] == "conditional")
            self.fuzzy.append(read[i][2])
        self._no_more()
        self.present: set[int] = set().union(*self.words) if self.words else set()
        self.barred: dict[str, frozenset[int]] = {}  # sign -> words naming something else

    def _pieces(self, raw: str) -> list[tuple[str, int, int, bool]]:
        """(word, start, end in ``raw``, starts a new clause) after shorthand and elision."""
        pack = self.pack
        folded, origin = fold_with_map(raw)
        pieces: list[tuple[str, int, int, bool]] = []
        last_end = 0
        pending_break = False
        # a run of one-word sentences is one phrase: "no. puedo. respirar."
        runs = [r.span() for r in STACCATO_RUN.finditer(folded)]
        for m in TOKEN.finditer(folded):
            gap = folded[last_end:m.start()]
            # a hyphen inside a word ("когда-то", "grand-mère") joins, it does not break
            breaks = pending_break or (
                gap != "-" and bool(CLAUSE_PUNCT.search(gap))
                and not any(r_start < m.start() < r_end for r_start, r_end in runs))
            pending_break = False
            last_end = m.end()
            start, end = origin[m.start()], origin[m.end() - 1] + 1
            for piece in split_word(times_word(m.group(0))):
                if piece in pack.clause_words:
                    pending_break = True
                    continue
                for word in pack.shorthand.get(piece, (piece,)):
                    pieces.append((word, start, end, breaks or pending_break))
                    breaks = pending_break = False
        return pieces

    def _no_more(self) -> None:
        """A clause that opens with a "no more" sequence (the pack's ``no_more``: "plus de
        rougeur") opens with a negation: its first word negates what follows; the last word of
        a "no longer" sequence (``no_longer``: "n'est plus") negates, wherever it is."""
        for sequence in self.pack.no_more:
            size = len(sequence)
            for i in range(len(self.words) - size + 1):
                if i and self.tokens[i - 1].clause == self.tokens[i].clause:
                    continue
                if all(self.words[i + k] & slot for k, slot in enumerate(sequence)):
                    self.negation[i] = True
        # "ce n'est plus gonflé": the "plus" of a "no longer" sequence negates, anywhere
        for sequence in self.pack.no_longer:
            size = len(sequence)
            for i in range(len(self.words) - size + 1):
                if all(self.words[i + k] & slot for k, slot in enumerate(sequence)):
                    self.negation[i + size - 1] = True

    def _hedges(self, words: list[frozenset[int]]) -> set[int]:
        """Indexes of hedge words ("no sé si"): they break the clause and negate nothing; not
        before one of the pack's ``not_hedged_before`` words ("مش عارفة تتنفس": cannot breathe)."""
        hedged: set[int] = set()
        unless = self.pack.not_hedged_before
        for hedge in self.pack.hedges:
            for i in range(len(words) - len(hedge) + 1):
                if all(words[i + k] & slot for k, slot in enumerate(hedge)):
                    after = i + len(hedge)
                    if unless and after < len(words) and words[after] & unless:
                        continue
                    hedged.update(range(i, after))
        return hedged

    def clause_range(self, index: int) -> tuple[int, int]:
        clause = self.tokens[index].clause
        start = index
        while start > 0 and self.tokens[start - 1].clause == clause:
            start -= 1
        end = index
        while end + 1 < len(self.tokens) and self.tokens[end + 1].clause == clause:
            end += 1
        return start, end

    def evidence(self, first: int, last: int) -> str:
        return self.raw[self.tokens[first].start:self.tokens[last].end].strip()


