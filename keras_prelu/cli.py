"""The recipes' command line: a flag for every setting, and errors as one readable line.

`parse_settings(cls, argv)` turns any `Settings` dataclass into flags: `--global-batch-size
256` for `global_batch_size`, switches for booleans (`--xla`, `--no-xla`), one or more
words for tuples (`--learning-rates 0.01 0.001`), `none` for an optional value; each flag's
help gives its allowed values and default. `--config FILE` reads a TOML or JSON file first;
flags win over it. `main(function)` runs a recipe: an error is printed as one line without
a traceback (`--debug` shows it), with exit status 1 (2 for a bad command line).
"""

import argparse
import dataclasses
import sys
import typing

from keras_prelu.settings import field_kind, flag_name, parse_text

DEBUG_FLAG = "--debug"


def add_common_flags(parser):
    """`--config` and `--debug`, which every recipe has."""
    parser.add_argument("--config", metavar="FILE", help="a TOML or JSON file of settings; "
                        "flags given as well override it")
    parser.add_argument(DEBUG_FLAG, action="store_true",
                        help="show the full traceback of an error")


def add_settings_flags(parser, cls, positional=()):
    """One flag per field of the `Settings` dataclass `cls` (an argument for `positional`)."""
    for field in dataclasses.fields(cls):
        if field.name in positional:
            parser.add_argument(field.name, help=field.metadata.get("help", ""))
            continue
        kind, _ = field_kind(field)
        help_text = field.metadata.get("help", "")
        choices = field.metadata.get("choices")
        if choices is not None:
            help_text += f"; one of {', '.join(map(str, choices))}"
        default = field.default
        if isinstance(default, tuple):
            default = " ".join(map(str, default))
        options = {"dest": field.name, "default": None, "help": f"{help_text} (default: {default})"}
        if kind is bool:
            options["help"] = f"{help_text} (a switch; default: {'on' if default else 'off'})"
            parser.add_argument(f"--{flag_name(field)}", action=argparse.BooleanOptionalAction,
                                **options)
            continue
        if typing.get_origin(kind) is tuple:
            options["nargs"] = "+"
        metavar = typing.get_args(kind)[0] if typing.get_origin(kind) is tuple else kind
        options["metavar"] = getattr(metavar, "__name__", "VALUE").upper()
        parser.add_argument(f"--{flag_name(field)}", **options)


def settings_from_args(cls, args):
    """The settings of `cls` from parsed arguments: the `--config` file, then the flags."""
    values = {}
    for field in dataclasses.fields(cls):
        given = getattr(args, field.name, None)
        if given is None:
            continue
        if isinstance(given, list):
            optional = field_kind(field)[1]
            given = (None if optional and [word.lower() for word in given] == ["none"]
                     else [parse_text(field, word) for word in given])
        elif isinstance(given, str):
            given = parse_text(field, given)
        values[field.name] = given
    if args.config:
        return cls.load(args.config, **values)
    return cls.from_dict(values, source="the command line")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        words = {"0", "1", "true", "false", "yes", "no", "on", "off"}
        if message.startswith("unrecognized arguments") and words & set(
                message.lower().replace(",", " ").split()[2:]):
            message += ("; boolean settings are switches: --xla turns one on, --no-xla off, "
                        "with no value after them")
        super().error(message)


def build_parser(cls, *, description, epilog=None, positional=()):
    """The argument parser of a recipe whose settings are the dataclass `cls`; fields named
    in `positional` are positional arguments instead of flags."""
    parser = _Parser(description=description, epilog=epilog,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_flags(parser)
    add_settings_flags(parser, cls, positional)
    return parser


def parse_settings(cls, argv, *, description, epilog=None, positional=()):
    """Parses a recipe's command line into the settings dataclass `cls`.

    Raises:
        SystemExit: a malformed command line (argparse prints the usage and the error).
        ValueError: a value of the wrong type, or a bad setting (see `Settings`).
    """
    parser = build_parser(cls, description=description, epilog=epilog, positional=positional)
    return settings_from_args(cls, parser.parse_args(argv))


def main(function, argv=None):
    """Runs `function(argv)` as a command: errors become one line on stderr.

    With `--debug` among the arguments the traceback is shown instead. An interruption
    (Ctrl-C) says how to resume.

    Returns:
        What `function` returns; exits with status 1 on an error, 130 on an interruption.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return function(argv)
    except KeyboardInterrupt:
        if DEBUG_FLAG in argv:
            raise
        print("\nInterrupted. Run the same command again to resume from the last checkpoint.",
              file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 (every error becomes one readable line)
        if DEBUG_FLAG in argv:
            raise
        print(f"error: {error}\n(run with {DEBUG_FLAG} for the traceback)", file=sys.stderr)
        sys.exit(1)
