"""Finding patients as staff type: name prefixes and phone digits, by index."""

import pytest

from store.db import database
from store.models import Patient
from store.patients import add_patient, search_patients, update_patient

PEOPLE = [
    ("Maria", "Lopez", "(212) 555-0134"),
    ("Mario", "Lopez", "(646) 555-4567"),
    ("Ana", "Adams", "(917) 212-4567"),
    ("Tom", "Baker", "(718) 555-0190"),
    ("Aisha", "Khan", "(212) 555-0112"),
]


@pytest.fixture
def people(practice, now):  # type: ignore[no-untyped-def]
    return {
        first: add_patient(
            practice,
            first_name=first,
            last_name=last,
            phone=phone,
            actor="desk",
            now=now,
        )
        for first, last, phone in PEOPLE
    }


def names(found: list[Patient]) -> list[str]:
    return [p.full_name for p in found]


def test_the_last_digits_find_the_number(practice, people):
    assert names(search_patients(practice, "4567")) == ["Ana Adams", "Mario Lopez"]
    assert names(search_patients(practice, "555-0134")) == ["Maria Lopez"]
    assert names(search_patients(practice, "0190")) == ["Tom Baker"]


def test_the_start_of_the_national_number_finds_it(practice, people):
    assert names(search_patients(practice, "212555")) == [
        "Aisha Khan",
        "Maria Lopez",
    ]
    # Punctuation is ignored, and Ana's 212 in the middle does not count.
    assert names(search_patients(practice, "(212)")) == [
        "Aisha Khan",
        "Maria Lopez",
    ]


def test_a_leading_plus_matches_the_international_number(practice, people):
    assert names(search_patients(practice, "+1 646")) == ["Mario Lopez"]
    assert search_patients(practice, "+44 646") == []


def test_digits_in_the_middle_do_not_match(practice, people):
    # 555 is neither the start nor the end of any of these numbers.
    assert search_patients(practice, "555") == []


def test_a_changed_number_is_found_by_its_new_digits(practice, people, now):
    update_patient(
        practice, people["Tom"].id, actor="desk", phone="(718) 555-9876", now=now
    )

    assert names(search_patients(practice, "9876")) == ["Tom Baker"]
    assert search_patients(practice, "0190") == []


def test_phone_results_page_in_name_order(practice, people):
    found = search_patients(practice, "4567", limit=1)
    rest = search_patients(practice, "4567", limit=1, offset=1)

    assert names(found + rest) == ["Ana Adams", "Mario Lopez"]


def test_other_practices_are_not_searched(practice, other_practice, people):
    assert search_patients(other_practice, "4567") == []


def test_a_phone_search_reads_two_index_ranges_not_the_table(practice, people):
    # Capture the SQL search_patients runs, then ask SQLite how it reads it.
    seen: list[tuple[str, object]] = []
    real = database.obj.execute_sql

    def spy(sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((sql, params))
        return real(sql, params, *args, **kwargs)

    database.obj.execute_sql = spy
    try:
        search_patients(practice, "4567")
    finally:
        del database.obj.execute_sql
    sql, params = seen[-1]

    plan = " / ".join(
        row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
    )
    assert "patient_practice_id_phone_tail" in plan, plan
    assert "patient_practice_id_phone " in plan, plan
    assert "last_key" not in plan, plan
