"""Reading a contacts CSV: each record is held to a number of characters before csv.reader holds
it (one of exactly that many passes, one character more is refused naming the line where the
record began, as a quoted record runs over several lines; each record is counted afresh), and a
file that is empty, undecodable or whose header names a column too long is refused saying so."""

from __future__ import annotations

import csv
import io

import pytest

from commands.audience.contact_rows import MAX_FIELD_NAME, MalformedCsv, _BoundedLines, csv_rows


def records(text: str, most: int) -> list[list[str]]:
    """The records csv.reader reads through the bound, as the import reads them."""
    lines = _BoundedLines(io.StringIO(text), most)
    reader, read = csv.reader(lines), []
    for cells in reader:
        read.append(cells)
        lines.next_record()
    return read


def test_a_record_of_exactly_the_limit_passes_and_each_record_is_counted_afresh():
    text = "email\n" + "a@b.example\n" * 3  # each record: 12 characters with its line end
    assert records(text, 12) == [["email"], ["a@b.example"], ["a@b.example"], ["a@b.example"]]


def test_a_record_one_character_over_the_limit_is_refused_naming_its_first_line():
    text = "email\nan@b.example\nbob@b.example\n"  # 13 characters, then 14
    with pytest.raises(MalformedCsv) as refused:
        records(text, 13)
    assert str(refused.value) == "the CSV record from line 3 on is longer than 13 characters"


def test_a_quoted_record_over_several_lines_is_counted_whole_and_named_by_its_first_line():
    text = 'email,note\nann@b.example,"one\ntwo\nthree"\nbo@b.example,x\n'
    assert records(text, 40)[1] == ["ann@b.example", "one\ntwo\nthree"]
    with pytest.raises(MalformedCsv) as refused:
        records(text, 25)  # the record from line 2 has 30 characters over its three lines
    assert str(refused.value) == "the CSV record from line 2 on is longer than 25 characters"
    text = 'email\nann@b.example\n"bo@b.example\nmore"\n'
    with pytest.raises(MalformedCsv, match="from line 3 on is longer than 15"):
        records(text, 15)


def test_a_thousands_limit_is_written_with_its_separator():
    with pytest.raises(MalformedCsv, match="longer than 1,000 characters"):
        records("email\n" + "x" * 1001 + "\n", 1000)


def test_the_header_is_the_first_record_held_to_the_limit_from_line_one():
    assert records("email\n", 6) == [["email"]]  # 6 characters with its line end
    with pytest.raises(MalformedCsv) as refused:
        records("email,\n", 6)
    assert str(refused.value) == "the CSV record from line 1 on is longer than 6 characters"


def test_an_empty_file_or_one_of_blank_lines_is_refused_asking_for_a_header():
    for text in ("", "\n\n"):
        with pytest.raises(MalformedCsv) as refused:
            csv_rows(io.StringIO(text))
        assert str(refused.value) == "the CSV file is empty: expected a header row naming its columns"


def test_a_header_that_cannot_be_decoded_is_refused_with_the_decoders_words():
    undecodable = io.TextIOWrapper(io.BytesIO(b"\xffemail\n"), encoding="utf-8")
    with pytest.raises(MalformedCsv) as refused:
        csv_rows(undecodable)
    assert str(refused.value).startswith(
        "the CSV header cannot be read: 'utf-8' codec can't decode byte 0xff"
    )


def test_a_column_name_of_the_longest_length_is_taken_and_one_longer_is_refused():
    longest = "x" * MAX_FIELD_NAME
    assert list(csv_rows(io.StringIO(f"email,{longest}\nann@b.example,1\n"))) == [
        {"email": "ann@b.example", longest: "1"}
    ]
    with pytest.raises(MalformedCsv) as refused:
        csv_rows(io.StringIO(f"email,{longest}y\n"))
    assert str(refused.value) == f"the CSV header's column 2 is longer than {MAX_FIELD_NAME} characters"
