"""What can be wrong in a rule file, as the admin reads it: one table, ``PROBLEMS``, from a
problem code (kept for the API and the logs) to a Chinese sentence and the hint that says how
to fix it.

What the admin types — YAML keys, values, field keys, expressions, example lines — is quoted
as written ('severity', 'apply.new.total'); the rest is Chinese. Templates take ``{name}``
fields; ``{name!q}`` quotes a value as YAML text and ``{name!l}`` lists choices, each quoted
(``'error'、'warning'、'info'``). Must not know about rules, reports or files.
"""

from __future__ import annotations

import difflib
import json
import re
import string
from typing import Any, Iterable

# Templates: a brace the admin types is doubled ({{ }}), as str.format wants.
EXAMPLE_APPLIES = "例如 'applies: {{templates: [\"2021\", \"2019\"], levels: [government, department]}}'"
EXAMPLE_BASIS = "例如 'basis: {{text: \"条例 第四十九条\", status: VERIFIED}}'"
DEEP = "每个 + 或 - 都多嵌套一层：长的求和请写作 'sum(a, b, c, …)'，或把检查拆成几条规则"
FIELD_KEYS = "字段键见 'docs/report-fields.md'，例如 'apply.new.total'"
ESCAPE = "要按字面匹配 ( ) [ ] . * + ? 时，请在前面加反斜杠"

# code -> (what is wrong, how to fix it). A hint may be "" (nothing more to say), and a
# "did you mean" guess, when there is one, is said instead of it.
PROBLEMS: dict[str, tuple[str, str]] = {
    # files (rules/loader.py, rules/yamlmarks.py)
    "no_such_path": ("没有这个文件或目录", "请给出规则目录（其中是 '*.yaml' 规则文件）或一个规则文件"),
    "no_rule_files": ("目录中没有规则文件（'*.yaml'）", "请至少添加一个规则文件"),
    "unreadable": ("无法读取文件：{reason}", "请将文件存为 UTF-8 编码的文本"),
    "yaml_syntax": ("YAML 格式有误：{reason}", "请检查缩进（只用空格），含 ': '、'#'、'{{' 或以 '*' 开头的文字请加引号"),
    "yaml_too_deep": ("嵌套层次过深，无法读取", "请减少列表和映射的嵌套"),
    "duplicate_key": ("键 {key!q} 重复出现", "同一映射中每个键只能出现一次，请删去其中一个"),
    "not_a_list": ("规则文件应是规则的列表", "每条规则以顶格的 '- id: ...' 开始"),
    "duplicate_id": ("规则编号 {id!q} 重复（首次出现在 {first}）",
                     "请给这条规则另取编号；若是同一规则的两个变体，请让两者的 'applies' 不会同时适用"
                     "（例如 'templates: [\"2021\"]' 与 'templates: [\"2019\"]'）"),
    # one rule (rules/schema.py)
    "rule_crashed": ("{rule}无法载入：检查这条规则时程序出错",
                     "请简化这条规则（表达式更短、嵌套更少）；如果规则看来没有错，请作为程序缺陷报告"),
    "rule_not_mapping": ("每条规则应是一个映射（'id'、'title'、'severity' 等）", "每条规则以 '- id: XXX-01' 开始"),
    "key_missing": ("{rule}缺少 {key!q}", "请添加 '{key}:'（必填的键：{required!l}）"),
    "id_invalid": ("规则编号 {value!q} 不符合 'ARI-01' 的写法", "编号写作“前缀-两位数字”，例如 'TXT-12'"),
    "title_empty": ("'title' 应是非空的文字", "写一个简短的中文标题"),
    "message_not_text": ("'message' 应是文字", "文字中含有 ':' 时请加引号"),
    "unknown_key": ("{where}中有未知的键 {key!q}", "{where}可用的键：{allowed!l}"),
    "choice_invalid": ("{key!q} 的值 {value!q} 不在可选范围内", "可选：{choices!l}"),
    "points_invalid": ("{key!q} 应是 0 到 100 的整数分值，而不是 {value!q}", "例如 '{key}: 10'"),
    "basis_not_mapping": ("'basis' 应是含 'text' 和 'status' 的映射", EXAMPLE_BASIS),
    "basis_no_text": ("'basis' 缺少 'text'：应引用的法规或格式条款", EXAMPLE_BASIS),
    "basis_status_invalid": ("'basis' 的 'status' 值 {value!q} 不在可选范围内",
                             "可选：{choices!l}（各标签的含义见 'domain.md' 第0节）"),
    "applies_missing": ("{rule}没有写明适用于哪些格式、哪些级别", EXAMPLE_APPLIES),
    "applies_not_mapping": ("'applies' 应是映射", EXAMPLE_APPLIES),
    "applies_key_missing": ("'applies' 应写明 {key!q}（规则适用于全部时也要全部列出）", EXAMPLE_APPLIES),
    "applies_list_empty": ("{key!q} 应是非空的列表", "可选：{choices!l}"),
    "applies_value_invalid": ("{key!q} 中的 {value!q} 不在可选范围内",
                              "可选：{choices!l}；格式年份要加引号，例如 '\"2021\"'"),
    "applies_year_invalid": ("{key!q} 应是报告年度，例如 2021", ""),
    "check_not_mapping": ("'check' 应是含 'kind' 的映射", "例如 'check: {{kind: expression, assert: ...}}'"),
    "kind_unknown": ("未知的检查类型 {kind!q}", "可用的类型：{kinds!l}"),
    "placeholder_unavailable": ("'message' 中的占位符 {name!q} 在 {kind!q} 检查中不可用", "可用的占位符：{allowed!l}"),
    # check parameters (rules/params.py, audits.py, history.py, prosechecks.py, statements.py)
    "section_unknown": ("未知的部分键 {value!q}", "部分键：{choices!l}"),
    "required_invalid": ("'required' 应为 'all' 或部分键的列表", "例如 'required: [{example}]'"),
    "whole_number": ("{key!q} 应是不小于 0 的整数", "例如 '{key}: {example}'"),
    "working_days": ("{key!q} 应是工作日天数（0 到 100 的整数）", "例如 '{key}: {example}'"),
    "number_invalid": ("{key!q} 应是不小于 0 的数", "例如 '{key}: {example}'"),
    "boolean_invalid": ("{key!q} 应为 'true' 或 'false'", ""),
    "min_invalid": ("'min' 应是数（不设下限时写 'null'）", "例如 'min: 0'"),
    "mapping_required": ("{key!q} 应是映射", "例如 '{example}'"),
    "names_required": ("{key!q} 应是非空的名称列表", "{example}"),
    "words_required": ("{key!q} 应是词语的列表", "例如 '{example}'"),
    "list_or_named_list": ("{key!q} 应是列表或列表名", "可用的列表名：{lists!l}"),
    "for_each_invalid": ("'for_each' 应把变量映射到取值列表", "例如 'for_each: {{c: applicant_columns}}' 或 '{{c: [natural, total]}}'"),
    "for_each_variable_invalid": ("'for_each' 的变量名 {var!q} 不可用",
                                  "请用简短的小写名称，如 'c' 或 'r'，且不要用这些保留名：{reserved!l}"),
    "list_unknown": ("变量 {var!q} 的列表名 {value!q} 未知", "可用的列表名：{lists!l}"),
    "for_each_values_invalid": ("'for_each' 的变量 {var!q} 需要非空的取值列表或列表名", "可用的列表名：{lists!l}"),
    "placeholder_not_variable": ("占位符 {name!q} 不是 'for_each' 中的变量", "请在 'for_each' 中声明，例如 '{example}'"),
    "assert_missing": ("'expression' 检查需要 'assert'：一个比较式",
                       "例如 'assert: \"review.total == review.upheld + review.corrected + review.other + review.pending\"'"),
    "assert_not_condition": ("'assert' 应是一个条件（比较式，或用 and、or、not 连接的比较）",
                             "例如 'a + b == c'；只有求和的式子总会被当作成立"),
    "when_not_condition": ("'when' 应是一个条件", "例如 'when: \"apply.new.total > 0\"'"),
    "history_without_previous": ("历年比较的表达式应读取上年度的字段",
                                 "写作 'previous.<键>'，例如 'apply.carried.total == previous.apply.carry_forward.total'"),
    "threshold_invalid": ("'threshold' 应是大于 0、不大于 1 的数", "例如 'threshold: 0.9'"),
    "groups_missing": ("'topics' 检查需要 'groups'", "例如 '{example}'"),
    "topic_group_invalid": ("主题组 {name!q} 需要关键词列表", "例如 '{example}'"),
    "topic_item_invalid": ("每个主题组应是一个关键词或关键词列表", "例如 '{example}'"),
    "patterns_missing": ("'pattern' 检查需要 'patterns' 列表", "例如 'patterns: [\"编写说明\", {{regex: \"X{{2,}}单位\", label: \"XX单位\"}}]'"),
    "pattern_item_invalid": ("每个模式应是正则表达式文字，或写作 '{{regex: ..., label: ...}}'", ""),
    "regex_invalid": ("正则表达式 {regex!q} 有误：{reason}", ESCAPE),
    "pattern_matches_empty": ("模式 {regex!q} 能匹配空文字", "模式至少要匹配一个字符"),
    "patterns_not_list": ("'patterns' 应是正则表达式的列表", "例如 'patterns: [\"上年结转{{gap}}{{n}}件\"]'"),
    "pattern_needs_number": ("模式 {value!q} 应是文字，并在数字所在处写 '{{n}}'", "例如 '\"上年结转[^。，]{{0,10}}?{{n}}件\"'"),
    "reply_patterns_invalid": ("'patterns' 应把 'received'、'on_time'、'extended'、'late' 分别映射到正则表达式列表", ""),
    "what_missing": ("'narrative' 检查需要 'what'：所数的事项，用中文写", "例如 'what: 本年新收政府信息公开申请'"),
    "narrative_key_invalid": ("'key' 应是解析程序给出的叙述键", "例如 'key: requests_received'"),
    "narrative_source_missing": ("'narrative' 检查需要 'key'（解析程序给出的叙述）或 'patterns'", "例如 'key: requests_received'"),
    "table_sum_invalid": ("'table' 应是一个字段键或几个字段键之和",
                          "例如 'table: apply.new.total' 或 'litigation.direct.total + litigation.after_review.total'"),
    "including_invalid": ("'including' 应写作 '{{words: [...], table: <字段键之和>}}'",
                          "例如 'including: {{words: [含上年结转], table: apply.new.total + apply.carried.total}}'"),
    "checks_invalid": ("'checks' 应是以下各项组成的列表：{allowed!l}", ""),
    "table_numeral_invalid": ("'table' 应是部分的序号：二、三或四", "例如 'table: 三'"),
    "cell_template_invalid": ("'cell' 应是含 '{{r}}'（以及 '{{c}}'）的字段键模板", "例如 'cell: \"apply.{{r}}.{{c}}\"'"),
    "rows_missing": ("'rows' 检查需要 'rows'", "{example}"),
    "row_invalid": ("行 {name!q} 应是含 'label'、'words'、'rows' 的映射", "{example}"),
    "row_words_invalid": ("行 {name!q} 的 'words' 应是短语列表", "{example}"),
    "row_rows_invalid": ("行 {name!q} 的 'rows' 应是表三行键的列表", "{example}"),
    "row_unknown": ("行 {name!q}：表三没有行键 {row!q}", "行键如 'granted'、'withheld.*'、'unable.not_held'（见 'report-fields.md'）"),
    # scoring.yaml (rules/scoring.py)
    "scoring_not_mapping": ("'scoring.yaml' 应是映射", "例如 'grades: {{优: 90, 良: 75, 中: 60, 差: 0}}'"),
    "category_map_invalid": ("{key!q} 应把类别映射到{what}", "例如 '{example}'"),
    "category_unknown": ("未知的类别 {value!q}", "类别：{choices!l}"),
    "cap_invalid": ("类别 {category!q} 的上限应是 0 到 100 的整数", ""),
    "category_weight_invalid": ("类别 {category!q} 的权重应是 0 到 1000 的整数百分比", "例如 '50'"),
    "grades_invalid": ("'grades' 应把每个等级映射到它的最低分（0 到 100）", "例如 'grades: {{优: 90, 良: 75, 中: 60, 差: 0}}'"),
    "grades_no_zero": ("没有从 0 分起的等级，低分将没有等级", "请把最低等级的门槛设为 0"),
    "percent_invalid": ("{key!q} 应是 0 到 100 的整数百分比", "例如 '{key}: {example}'"),
    # expressions (rules/expressions.py)
    "expression_empty": ("表达式为空", "请写一个比较式，例如 'a + b == c'"),
    "expression_too_long": ("表达式长 {length} 个字符，太长", "请少于 {limit} 个字符"),
    "expression_malformed": ("表达式写法有误：{reason}（第 {column} 个字符处）", "请检查括号和运算符；字段键形如 'apply.new.total'"),
    "expression_too_deep": ("表达式嵌套过深，无法读取", DEEP),
    "expression_depth": ("表达式嵌套 {depth} 层，超过上限 {limit} 层", DEEP),
    "syntax_refused": ("表达式中不能使用{what}", "只能使用数字、字段键、+ - * /、比较（== != < <= > >=）和 and、or、not"),
    "operator_refused": ("表达式中不能使用运算符 {op!q}", "只能使用 + - * /"),
    "comparison_refused": ("表达式中不能使用比较 {op!q}", "请用 == != < <= > >="),
    "constant_refused": ("表达式中不能出现 {value!q}", "表达式中的常量只能是数字"),
    "constant_too_large": ("常量 {value!q} 太大", "常量应小于 {limit}"),
    "attribute_refused": ("表达式中不能访问属性或方法", "只有字段键中可以有点，例如 'apply.new.total'"),
    "call_refused": ("表达式中不能调用 {name!q}", "可用的函数：{functions!l}"),
    "call_arguments_refused": ("函数不能使用关键字参数或 * 参数", "请直接写出各个参数"),
    "name_refused": ("名称 {name!q} 不可用", "不能使用以 '_' 开头的名称"),
    "field_unknown": ("未知的字段键 {key!q}", FIELD_KEYS),
    "field_undotted": ("未知的字段键 {key!q}", "字段键带点（如 'apply.new.total'）；'for_each' 的变量要写在花括号中：'{{{key}}}'"),
    # rule test cases (rules/ruletests.py)
    "case_unknown_key": ("用例中有未知的键 {key!q}", "用例可用的键：{allowed!l}"),
    "case_unknown_rule": ("没有编号为 {id!q} 的规则", ""),
    "case_unbuildable": ("无法按用例构造报告和评估条件：{reason}", ""),
    "case_needs_today": ("'report: none' 的用例需要写明 'context.today'", ""),
    "case_needs_expect": ("用例需要 'expect' 或 'absent'", ""),
    "case_expectation_invalid": ("每项预期都要写明 'rule' 和 'status'（{statuses!l}）", ""),
    "cases_not_a_list": ("测试文件应是用例的列表", ""),
    "case_not_mapping": ("每个用例应是一个映射", ""),
    "case_not_mapping_at": ("用例的 {key!q} 应是一个映射（键: 值）", ""),
    "case_sections_invalid": ("{key!q} 应是 all、章节键的列表或章节键到其设定的映射", ""),
    "case_section_unknown": ("未知的章节键 {name!q}", "章节键：{allowed!l}"),
    "case_unknown_key_at": ("{key!q} 中有未知的键 {name!q}", "可用的键：{allowed!l}"),
    "case_date_invalid": ("{key!q} 不是日期：{value!q}", "请按 {example!q} 的格式写日期"),
    "case_year_invalid": ("'context.year' 不是年份：{value!q}", "请写四位数的年份，或写 {unknown!q}"),
    "case_level_invalid": ("'context.level' 只能是 {allowed!l}，而不是 {value!q}", ""),
    "case_crashed": ("用例无法运行（程序出错，详情已写入日志），请检查此用例的写法", ""),
}

# Python's names for the syntax an expression may not use, as the admin knows it.
SYNTAX = {"Pow": "乘方（**）", "Subscript": "下标（[...]）", "Lambda": "lambda", "JoinedStr": "格式化字符串",
          "Dict": "映射（{...}）", "Set": "集合（{...}）", "List": "列表（[...]）", "Tuple": "元组（逗号分隔的几个值）",
          "ListComp": "推导式", "SetComp": "推导式", "DictComp": "推导式", "GeneratorExp": "推导式",
          "NamedExpr": "赋值（:=）", "Starred": "星号参数（*）", "Await": "await", "Yield": "yield", "YieldFrom": "yield",
          "Slice": "切片（[a:b]）", "Invert": "按位取反（~）", "FormattedValue": "格式化字符串"}
OPERATORS = {"Pow": "**", "Mod": "%", "FloorDiv": "//", "MatMult": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^",
             "LShift": "<<", "RShift": ">>"}
COMPARISONS = {"In": "in", "NotIn": "not in", "Is": "is", "IsNot": "is not"}

# What PyYAML, Python's parser and ``re`` say, in the admin's words; the original stays in the
# problem's detail (API, logs). First match wins; anything else gets the last line.
_REASONS: tuple[tuple[str, str], ...] = (
    (r"mapping values are not allowed", "此处不能出现“键: 值”；文字中含有 ': ' 时请加引号"),
    (r"found character '\\t'", "含有制表符（Tab）；缩进只能用空格"),
    (r"could not find expected ':'", "缺少冒号 ':'"),
    (r"found undefined alias", "引用了未定义的锚点（以 '*' 开头的文字要加引号）"),
    (r"found duplicate anchor", "锚点重复定义"),
    (r"expected <block end>|expected <block mapping start>|bad indentation", "缩进不一致"),
    (r"expected ',' or '\]'", "方括号中的列表没有正确结束"),
    (r"expected ',' or '\}'", "花括号中的映射没有正确结束"),
    (r"unexpected end of stream|found unexpected end of stream", "引号或括号没有闭合"),
    (r"could not determine a constructor for the tag", "使用了不支持的标签（以 '!' 开头）"),
    (r"a mapping key must be a plain value|found unhashable key", "映射的键必须是简单的值"),
    (r"found character .* that cannot start any token", "有的文字以不能开头的字符开始，请加引号"),
    (r"expected a comment or a line break|expected the node content", "这一行的写法无法识别"),
    (r"missing \), unterminated subpattern|unbalanced parenthesis|missing \)", "圆括号不成对"),
    (r"unterminated character set", "方括号没有闭合"),
    (r"nothing to repeat|multiple repeat", "重复符号（* + ? {m,n}）前面缺少要重复的内容"),
    (r"bad escape", "无效的转义（反斜杠后的字符）"),
    (r"unknown extension|unknown flag", "不支持的写法（'(?' 之后）"),
    (r"bad character range", "字符范围写反了（例如 'z-a'）"),
    (r"look-behind requires fixed-width", "向后查看的模式长度必须固定"),
    (r"was never closed|unexpected EOF", "括号没有闭合"),
    (r"unmatched '", "右括号多余"),
    (r"does not match opening parenthesis", "括号不成对"),
    (r"invalid decimal literal|invalid syntax|invalid character|cannot assign|expected", "写法无法识别"),
    (r".*", "无法识别"),
)


def reason(text: str) -> str:
    """A library's English reason (PyYAML, the Python parser, ``re``) as a Chinese phrase."""
    return next(cn for pattern, cn in _REASONS if re.search(pattern, text or ""))


def quoted(value: Any) -> str:
    """A value as the admin writes it in YAML, quoted: 'severty', '2021', 'true'; none: （空）."""
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = " ".join(text.replace("'", "’").split())
    return f"'{text[:57] + '…' if len(text) > 60 else text}'"


def listing(choices: Iterable[Any]) -> str:
    return "、".join(quoted(c) for c in choices)


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """The "did you mean" hint, or "" when nothing is close."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"是否想写 {quoted(close[0])}？" if close else ""


class _Formatter(string.Formatter):
    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "q":
            return quoted(value)
        if conversion == "l":
            return listing(value)
        return super().convert_field(value, conversion)


_FORMAT = _Formatter()


def text_of(code: str, params: dict[str, Any], near: tuple[Any, Iterable[Any]] | None = None) -> tuple[str, str]:
    """(message, hint) of a problem code; ``near`` = (what was written, what could be): a close
    match is suggested in place of the table's hint."""
    message, hint = PROBLEMS[code]
    guess = did_you_mean(*near) if near is not None else ""
    return _FORMAT.format(message, **params), guess or _FORMAT.format(hint, **params)


def rule_named(rule_id: Any) -> str:
    """"规则 'ARI-01' " or, when the rule has no usable id yet, "这条规则"."""
    return f"规则 {quoted(rule_id)} " if isinstance(rule_id, str) and rule_id.strip() else "这条规则"


def check_named(kind: str) -> str:
    return f"'{kind}' 检查"


def regex_reason(exc: re.error) -> str:
    at = f"（第 {exc.pos + 1} 个字符处）" if getattr(exc, "pos", None) is not None else ""
    return reason(exc.msg) + at


def say(code: str, near: tuple | None = None, **params: Any) -> str:
    """The message and the hint of ``code`` as one sentence (for rule test failures)."""
    message, hint = text_of(code, params, near)
    return f"{message} — {hint}" if hint else message
