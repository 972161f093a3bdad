"""Date strings as V8's ``Date.parse`` reads them when they are not ISO-8601.

JavaScript engines accept more than ISO: RFC 2822 (``Tue, 30 Jan 2024
10:00:00 GMT``), ``toUTCString()``, ``toString()`` and ``toDateString()``
output, ``Jan 31 2024``, ``31 January 2024 10:00 PM``, ``1/31/2024, 11:59:59
PM``, ``2024-1-5`` and ``2024-01-31 10:00``. This module follows the rules of
V8's legacy date parser, which manifests written for upstream HotMesh (on
Node) rely on:

- a word before the first number is ignored (``Tue,``); after it, only a month
  name, ``AM``/``PM`` or a zone name (``GMT``, ``UTC``, ``UT``, ``Z``, and the
  US zones ``EST``/``EDT``/``CST``/``CDT``/``MST``/``MDT``/``PST``/``PDT``) may
  follow; a month name is recognised by its first three letters;
- text in parentheses is ignored; ``,`` and ``/`` separate like spaces;
- ``h:m[:s[.ms]]`` is the time; a signed number after the time or after a UTC
  zone name is an offset (``+0100``, ``-5``, ``+05:30``);
- with a month name the numbers are day and year (the year first when the
  first number cannot be a day); without one, ``M/D/Y`` unless the first number
  cannot be a day (then ``Y/M/D``); a missing year is 2001, a missing day 1, as
  in V8; years 0–49 are 2000–2049 and 50–99 are 1950–1999;
- without a zone the time is local; a day overflowing its month rolls over
  (``Feb 30`` is 1 March), as JavaScript's date arithmetic does.

``parse`` returns epoch milliseconds, or None where V8 answers NaN.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

_NONE = -1
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun",
           "jul", "aug", "sep", "oct", "nov", "dec")  # fmt: skip
#: zone name -> offset in hours
_ZONES = {"ut": 0, "utc": 0, "z": 0, "gmt": 0, "cdt": -5, "cst": -6, "edt": -4,
          "est": -5, "mdt": -6, "mst": -7, "pdt": -7, "pst": -8}  # fmt: skip
#: JavaScript's WhiteSpace and LineTerminator characters
_SPACE = frozenset(
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_MAX_DIGITS = 9  # V8 reads at most nine significant digits of a number


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num | sym | word | space | other | end
    value: int = 0
    text: str = ""
    length: int = 0


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if "0" <= c <= "9":
            j = i
            while j < n and "0" <= text[j] <= "9":
                j += 1
            digits = text[i:j]
            significant = digits.lstrip("0")[:_MAX_DIGITS] or "0"
            out.append(_Token("num", int(significant), digits, j - i))
            i = j
        elif c in ":-+.)":
            out.append(_Token("sym", text=c))
            i += 1
        elif c >= "A" and c not in _SPACE:
            j = i
            while j < n and text[j] >= "A" and text[j] not in _SPACE:
                j += 1
            out.append(_Token("word", text=text[i:j].lower(), length=j - i))
            i = j
        elif c in _SPACE:
            while i < n and text[i] in _SPACE:
                i += 1
            out.append(_Token("space"))
        elif c == "(":
            depth = 0
            while i < n:  # nested parentheses are skipped whole
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
                if depth == 0:
                    break
            out.append(_Token("other"))
        else:
            out.append(_Token("other"))
            i += 1
    out.append(_Token("end"))
    return out


def _keyword(token: _Token) -> tuple[str, int] | None:
    """``("month", 1..12)``, ``("ampm", 0|12)``, ``("zone", hours)``, ``("t", 0)``."""
    if token.kind != "word":
        return None
    word = token.text
    prefix = word[:3]
    if prefix in _MONTHS and len(prefix) == 3:
        return "month", _MONTHS.index(prefix) + 1  # "January", "Janu…" alike
    if len(word) > 3:
        return None
    if word in ("am", "pm"):
        return "ampm", 0 if word == "am" else 12
    if word in _ZONES:
        return "zone", _ZONES[word]
    if word == "t":
        return "t", 0
    return None


def _sym(token: _Token, char: str) -> bool:
    return token.kind == "sym" and token.text == char


def _fixed(token: _Token, length: int) -> bool:
    return token.kind == "num" and token.length == length


@dataclass
class _Scanner:
    tokens: list[_Token]
    at: int = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def next(self) -> _Token:
        token = self.tokens[self.at]
        if token.kind != "end":
            self.at += 1
        return token

    def skip(self, char: str) -> bool:
        if _sym(self.peek(), char):
            self.at += 1
            return True
        return False


@dataclass
class _Day:
    comp: list[int] = field(default_factory=list)
    named_month: int = _NONE
    iso: bool = False

    def add(self, n: int) -> bool:
        if len(self.comp) >= 3:
            return False
        self.comp.append(n)
        return True

    def write(self) -> tuple[int, int, int] | None:
        if not self.comp:
            return None
        comp = self.comp + [1] * (3 - len(self.comp))  # day and month default to 1
        if self.named_month == _NONE:
            if self.iso or not 1 <= comp[0] <= 31:
                year, month, day = comp
            else:
                month, day, year = comp
        else:
            month = self.named_month
            if not 1 <= comp[0] <= 31:
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.iso:
            if 0 <= year <= 49:
                year += 2000
            elif 50 <= year <= 99:
                year += 1900
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return year, month, day


@dataclass
class _Time:
    comp: list[int] = field(default_factory=list)
    hour_offset: int = _NONE

    def expecting(self, n: int) -> bool:
        size = len(self.comp)
        return (
            (size == 1 and 0 <= n <= 59)
            or (size == 2 and 0 <= n <= 59)
            or (size == 3 and 0 <= n <= 999)
        )

    def add(self, n: int) -> bool:
        if len(self.comp) >= 4:
            return False
        self.comp.append(n)
        return True

    def add_final(self, n: int) -> bool:
        if not self.add(n):
            return False
        self.comp += [0] * (4 - len(self.comp))
        return True

    def write(self) -> tuple[int, int, int, int] | None:
        hour, minute, second, ms = self.comp + [0] * (4 - len(self.comp))
        if self.hour_offset != _NONE:
            if not 0 <= hour <= 12:
                return None
            hour = hour % 12 + self.hour_offset
        if not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 59):
            if (hour, minute, second, ms) != (24, 0, 0, 0):
                return None
        if not 0 <= ms <= 999:
            return None
        return hour, minute, second, ms


@dataclass
class _Zone:
    sign: int | None = None  # +1 / -1; None: no zone given (local time)
    hour: int = _NONE
    minute: int = _NONE

    def set_hours(self, hours: int) -> None:
        self.sign = -1 if hours < 0 else 1
        self.hour, self.minute = abs(hours), 0

    def expecting(self, n: int) -> bool:
        return self.hour != _NONE and self.minute == _NONE and 0 <= n <= 59

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def offset_seconds(self) -> int | None:
        """Seconds east of UTC, or None for local time."""
        if self.sign is None:
            return None
        hour = 0 if self.hour == _NONE else self.hour
        minute = 0 if self.minute == _NONE else self.minute
        return self.sign * (hour * 3600 + minute * 60)


def _milliseconds(token: _Token) -> int:
    """The first three digits of a fraction: ``.5`` is 500 ms, ``.1234`` 123 ms."""
    digits = token.text[:_MAX_DIGITS]
    return int((digits + "00")[:3])


def _es5(scan: _Scanner, day: _Day, time: _Time, zone: _Zone) -> _Token | None:
    """The ISO-8601 subset of ECMAScript; None when the whole string was one.

    Otherwise returns the first token it did not handle, for the legacy rules
    (what was read so far stays in ``day``: ``2024-01-31 10:00`` is legacy).
    """
    peek = scan.peek()
    if peek.kind == "sym" and peek.text in "+-":
        sign = scan.next()
        if not _fixed(scan.peek(), 6):
            return sign
        year = scan.next().value
        if sign.text == "-" and year == 0:
            return _Token("invalid")
        day.add(-year if sign.text == "-" else year)
    elif _fixed(peek, 4):
        day.add(scan.next().value)
    else:
        return scan.next()
    if scan.skip("-"):
        if not _fixed(scan.peek(), 2) or not 1 <= scan.peek().value <= 12:
            return scan.next()
        day.add(scan.next().value)
        if scan.skip("-"):
            if not _fixed(scan.peek(), 2) or not 1 <= scan.peek().value <= 31:
                return scan.next()
            day.add(scan.next().value)
    if _keyword(scan.peek()) != ("t", 0):
        if scan.peek().kind != "end":
            return scan.next()
    else:
        scan.next()
        if not _es5_time(scan, time, zone):
            return _Token("invalid")
    if zone.sign is None and not time.comp:
        zone.set_hours(0)  # a date-only ISO form is UTC
    day.iso = True
    return None


def _es5_time(scan: _Scanner, time: _Time, zone: _Zone) -> bool:
    hour = scan.peek()
    if not _fixed(hour, 2) or not 0 <= hour.value <= 24:
        return False
    scan.next()
    if not scan.skip(":"):
        return False
    minute = scan.peek()
    if not _fixed(minute, 2) or not 0 <= minute.value <= 59:
        return False
    if hour.value == 24 and minute.value > 0:
        return False
    scan.next()
    time.add(hour.value)
    time.add(minute.value)
    if scan.skip(":"):
        second = scan.peek()
        if not _fixed(second, 2) or not 0 <= second.value <= 59:
            return False
        if hour.value == 24 and second.value > 0:
            return False
        time.add(scan.next().value)
        if scan.skip("."):
            if scan.peek().kind != "num":
                return False
            ms = _milliseconds(scan.next())
            if hour.value == 24 and ms > 0:
                return False
            time.add(ms)
    if _keyword(scan.peek()) == ("zone", 0) and scan.peek().text == "z":
        scan.next()
        zone.set_hours(0)
    elif scan.peek().kind == "sym" and scan.peek().text in "+-":
        zone.sign = 1 if scan.next().text == "+" else -1
        hh = scan.peek()
        if _fixed(hh, 4):  # hhmm
            scan.next()
            zone.hour, zone.minute = hh.value // 100, hh.value % 100
        else:
            if not _fixed(hh, 2):
                return False
            scan.next()
            zone.hour = hh.value
            if not scan.skip(":"):
                return False
            mm = scan.peek()
            if not _fixed(mm, 2):
                return False
            zone.minute = scan.next().value
        if not (0 <= zone.hour <= 23 and 0 <= zone.minute <= 59):
            return False
    return scan.peek().kind == "end"


def _legacy(scan: _Scanner, first: _Token, day: _Day, time: _Time, zone: _Zone) -> bool:
    has_number = bool(day.comp)
    token = first
    while token.kind != "end":
        key = _keyword(token)
        if token.kind == "invalid":
            return False
        if token.kind == "num":
            has_number = True
            n = token.value
            if scan.skip(":"):
                if scan.skip(":"):
                    if time.comp:
                        return False
                    time.add(n)
                    time.add(0)
                else:
                    if not time.add(n):
                        return False
                    scan.skip(".")
            elif scan.skip(".") and time.expecting(n):  # the "." goes either way
                time.add(n)
                if scan.peek().kind != "num":
                    return False
                time.add_final(_milliseconds(scan.next()))
            elif zone.expecting(n):
                zone.minute = n
            elif time.expecting(n):
                time.add_final(n)
                # Only the end, a space, "Z" or a sign may follow a whole time.
                peek = scan.peek()
                if not (
                    peek.kind in ("end", "space")
                    or (peek.kind == "word" and peek.text == "z")
                    or (peek.kind == "sym" and peek.text in "+-")
                ):
                    return False
            else:
                if not day.add(n):
                    return False
                scan.skip("-")
        elif key is not None and key[0] == "ampm" and time.comp:
            time.hour_offset = key[1]
        elif key is not None and key[0] == "month":
            day.named_month = key[1]
            scan.skip("-")
        elif key is not None and key[0] == "zone" and has_number:
            zone.set_hours(key[1])
        elif token.kind == "word":
            # A word before the first number is ignored (a day name); after, fatal.
            if has_number or scan.peek().kind == "num":
                return False
        elif (
            token.kind == "sym" and token.text in "+-" and (zone.is_utc() or time.comp)
        ):
            zone.sign = 1 if token.text == "+" else -1
            digits = scan.next() if scan.peek().kind == "num" else _Token("num")
            has_number = True
            if _sym(scan.peek(), ":"):
                zone.hour, zone.minute = digits.value, _NONE  # +hh:mm
            elif digits.length in (1, 2):
                zone.hour, zone.minute = digits.value, 0  # GMT-8
            elif digits.length in (3, 4):
                zone.hour, zone.minute = digits.value // 100, digits.value % 100
            else:
                return False
        elif (token.kind == "sym" and token.text in "+-)") and has_number:
            return False
        token = scan.next()
    return True


def parse(text: str) -> int | None:
    """Epoch milliseconds of ``text`` read as V8 reads it, or None (NaN)."""
    scan = _Scanner(_tokens(text))
    day, time, zone = _Day(), _Time(), _Zone()
    rest = _es5(scan, day, time, zone)
    if rest is not None and not _legacy(scan, rest, day, time, zone):
        return None
    ymd, hms = day.write(), time.write()
    if ymd is None or hms is None:
        return None
    return _compose(ymd, hms, zone.offset_seconds())


def _compose(
    ymd: tuple[int, int, int], hms: tuple[int, int, int, int], offset: int | None
) -> int | None:
    year, month, mday = ymd
    hour, minute, second, ms = hms
    try:
        # Start of the month, then add: a day past the month's end rolls over.
        moment = dt.datetime(year, month, 1) + dt.timedelta(
            days=mday - 1, hours=hour, minutes=minute, seconds=second, milliseconds=ms
        )
        if offset is None:
            moment = moment.astimezone().astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None  # outside years 1-9999, the range of every date here
    delta = moment - dt.datetime(1970, 1, 1)
    wall = (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    # V8 takes any offset up to its integer range (GMT+31 is accepted).
    return wall - (offset or 0) * 1000
