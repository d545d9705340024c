"""documents.encoding.nfkc takes a shortcut past unicodedata's NFKC (slow on any text it
changes): its result must be NFKC's own, or labels and numbers would read differently."""

import random
import unicodedata

from documents.encoding import nfkc


def test_same_as_unicodedata_nfkc():
    samples = ["", "0", "１２,３４５件", "（一）予以公开", "本年度，我局共收到申请23件；其中：自然人申请20件。",
               "\u3000全角ＡＢｃ％", "ｶﾞｷﾞ", "e\u0301，", "，\u0301", "（\u0338", "ﬁ①㈠㍿", "Ａ\u030a"]
    rng = random.Random(16)
    pool = list("，；：（）。、！？申请件 0１２ＡＢ\u3000") + [chr(c) for c in range(0xFF00, 0xFFF0)] + \
        [chr(c) for c in range(0x300, 0x370)] + [chr(c) for c in range(0x1100, 0x1200, 3)] + \
        [chr(c) for c in range(0x3099, 0x309D)] + [chr(c) for c in range(0xAC00, 0xAC10)]
    samples += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    for text in samples:
        assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)
