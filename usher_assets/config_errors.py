"""What an invalid configuration file says: one line per problem with its YAML line, field and expectation,
and a traceback-free exit when such an error reaches the top of a command-line process.
"""

import sys
import typing

import yaml
from pydantic import BaseModel, ValidationError

FOUND_WIDTH = 60  # a long value is cut; the line number points at the rest


def yaml_key_lines(text: str) -> dict[tuple, int]:
    """Key path -> 1-based line where the key (or list item) starts, from the composed YAML nodes."""
    lines: dict[tuple, int] = {(): 1}

    def walk(node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                walk(item, (*path, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def line_of(loc: tuple, lines: dict[tuple, int]) -> int:
    """The line of the longest prefix of `loc` found in the file (a missing key points at its parent)."""
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return 1


def field_description(model: type[BaseModel], loc: tuple) -> str | None:
    """The description of the field `loc` names, walking nested models, dict values and optionals."""
    current: type | None = model
    description = None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return description
        info = current.model_fields.get(str(part))
        if info is None:
            continue  # a dict key (a source name, a layer): the value type is already in `current`
        description = info.description
        current = _inner_model(info.annotation)
    return description


def _inner_model(annotation) -> type | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _inner_model(argument)
        if found is not None:
            return found
    return None


def describe_problem(error: dict, lines: dict[tuple, int], model: type[BaseModel]) -> str:
    """`line 8, storage.lock_timeout_seconds: Input should be a valid number, found 'soon' (expected: ...)`."""
    loc = tuple(error["loc"])
    field = ".".join(str(part) for part in loc) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    found = error.get("input")
    if error["type"] != "missing" and not isinstance(found, (dict, list)):
        shown = repr(found)
        message += f", found {shown if len(shown) <= FOUND_WIDTH else shown[:FOUND_WIDTH] + '...'}"
    description = field_description(model, loc)
    if description:
        message += f" (expected: {description[0].lower()}{description[1:].rstrip('.')})"
    return f"line {line_of(loc, lines)}, {field}: {message}"


def describe_validation_error(error: ValidationError, text: str, model: type[BaseModel]) -> list[str]:
    lines = yaml_key_lines(text)
    return [describe_problem(problem, lines, model) for problem in error.errors()]


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """`line 3: not valid YAML: expected ',' or ']', but got '<stream end>'`."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"line {mark.line + 1}: not valid YAML: {problem}" if mark else f"not valid YAML: {problem}"


def exit_without_traceback(error: BaseException, program: str = "usher_assets") -> None:
    """If `error` reaches the top of this process uncaught, print its message alone and exit 1.

    The dagster CLI lets an import-time error of the definitions module escape with a traceback of
    Dagster's loader; the message already says everything. Any other exception keeps its traceback,
    and processes that catch the error (the UI's code server) never get here.
    """
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if value is error:
            print(f"{program}: {value}", file=sys.stderr)
        else:
            previous(kind, value, traceback)

    sys.excepthook = hook
