"""Small tables written on the fly, and the GDC pairs from the shared benchmark data."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def write_csv(tmp_path: Path):
    def write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


@pytest.fixture
def customers(write_csv) -> Path:
    return write_csv(
        "customers.csv",
        "cust_id,full_name,email_addr,birth_yr,country\n"
        "1,Ada Lovelace,ada@example.com,1815,UK\n"
        "2,Alan Turing,alan@example.com,1912,UK\n"
        "3,Grace Hopper,grace@example.com,1906,USA\n"
        "4,Edsger Dijkstra,edsger@example.com,1930,Netherlands\n",
    )


@pytest.fixture
def clients(write_csv) -> Path:
    return write_csv(
        "clients.csv",
        "customer_identifier,name,email,year_of_birth,nation,signup_date\n"
        "10,Barbara Liskov,barbara@example.com,1939,USA,2024-01-02\n"
        "11,Donald Knuth,don@example.com,1938,USA,2024-02-03\n"
        "12,Ada Lovelace,ada@example.com,1815,UK,2024-03-04\n",
    )


@pytest.fixture
def planets(write_csv) -> Path:
    return write_csv(
        "planets.csv",
        "planet,orbital_period_days,moons\n"
        "Mercury,88.0,0\nVenus,224.7,0\nEarth,365.2,1\nMars,687.0,2\n",
    )


@pytest.fixture(scope="session")
def gdc(shared_data: Path) -> Path:
    folder = shared_data / "schema_match"
    if not folder.is_dir():
        pytest.skip(f"no schema_match data at {folder}")
    return folder
