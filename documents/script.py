"""Traditional characters to simplified, for reading (not for display).

Some agencies (and mirrors) publish in traditional characters: 一、總體情況,
收到和處理政府信息公開申請情況. Headings, row labels and prose patterns are written in
simplified characters, so a page with many traditional characters is converted, character
by character, with the table below: the characters of the report template, its tables and
the usual prose of annual reports. A character outside the table stays as it is. The
conversion is recorded as a ``traditional_script`` problem by the reader, so a quote read
from such a page is known to be converted.

This module must not decode bytes or parse anything.
"""

from __future__ import annotations

import re

# Pairs "traditional simplified", written as one string of two-character pairs.
_PAIRS = (
    "總总體体況况動动開开處处結结復复複复議议訟讼請请數数轉转訴诉問问題题進进項项報报統统計计縣县區区單单務务監监"
    "當当們们規规範范發发廢废現现許许罰罚強强費费門门戶户網网專专欄栏說说時时間间樣样級级實实堅坚為为對对於于關关"
    "態态這这辦办滿满應应該该討讨論论審审見见繼继續续難难夠够沒没僅仅須须會会義义兩两個个職职閉闭頁页碼码來来後后"
    "達达極极訓训練练習习組组織织構构確确認认號号維维糾纠別别資资訊讯條条塊块與与協协調调經经標标準准則则業业劃划"
    "線线電电話话郵邮視视聽听書书紙纸雜杂檔档圖图館馆覽览眾众傳传場场廣广節节農农鄉乡鎮镇財财預预決决絡络賬账衛卫"
    "環环評评執执寧宁機机屬属國国穩稳護护權权類类內内過过詢询製制補补訪访舉举無无獲获繳缴納纳額额萬万編编據据華华"
    "設设讀读層层蓋盖擴扩將将質质創创銜衔暢畅聯联涉涉徵征僱雇歷历據据織织證证歸归錄录釋释齊齐屆届黨党員员領领導导"
    "務务門门戶户級级縣县鄉乡區区陽阳雲云東东進进園园灣湾嶺岭濱滨嶼屿莊庄陝陕遼辽黑黑龍龙貴贵蘇苏廈厦韓韩"
    "產产價价慶庆週周圍围億亿臺台壇坛壓压寫写錯错態态遞递還还邊边運运應应隨随險险優优擬拟認认謝谢議议變变轄辖"
    "衝冲據据條条號号時时無无願愿顯显風风飛飞館馆驗验體体麼么齡龄"
)
TABLE = str.maketrans({_PAIRS[i]: _PAIRS[i + 1] for i in range(0, len(_PAIRS), 2) if _PAIRS[i] != _PAIRS[i + 1]})
# Characters that are traditional-only (not also simplified forms of something else).
_TRADITIONAL = frozenset(chr(c) for c in TABLE)
# The same characters as one regex class: counting them this way is ~20× faster than a
# Python loop over the text, and most pages have none, so the CJK count is rarely needed.
_TRADITIONAL_CHAR = re.compile("[" + "".join(sorted(_TRADITIONAL)) + "]")


def traditional_share(text: str) -> tuple[int, int]:
    """(traditional-only characters, CJK characters) in ``text``."""
    cjk = trad = 0
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            cjk += 1
            if ch in _TRADITIONAL:
                trad += 1
    return trad, cjk


def is_traditional(text: str) -> bool:
    """True when the text is written in traditional characters (not a stray one or two)."""
    sample = text[:20000]
    if len(_TRADITIONAL_CHAR.findall(sample)) < 10:
        return False  # the same answer traditional_share would give, without the loop
    trad, cjk = traditional_share(sample)
    return trad >= 10 and trad * 20 >= cjk  # simplified text has ~0; traditional text ≥ 15 %


def to_simplified(text: str) -> str:
    return text.translate(TABLE)
