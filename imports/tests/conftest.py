import codecs
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from members.models import Member
from members.services import member_register
from visits.models import CatalogueItem, Category
from visits.services import catalogue_item_create, category_create

SAMPLES = Path(settings.BASE_DIR) / "docs" / "import-samples"
SAMPLE_CATEGORIES = {"injectables": "注射类", "skincare": "护肤品", "laser": "光电类", "facial": "皮肤护理"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
# The sample files' dates are history as of this moment, whenever the tests run.
SAMPLE_NOW = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)


def csv_file(text: str, *, name: str = "import.csv", bom: bool = False) -> SimpleUploadedFile:
    content = text.encode("utf-8")
    return SimpleUploadedFile(name, codecs.BOM_UTF8 + content if bom else content, content_type="text/csv")


def sample_file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes(), content_type="text/csv")


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Services report in the active language; tests read their messages in English. Requests and
    the command switch to the clinic's language themselves."""
    with translation.override("en"):
        yield


@pytest.fixture
def sample_time() -> Iterator[None]:
    with time_machine.travel(SAMPLE_NOW, tick=False):
        yield


@pytest.fixture
def categories(db) -> dict[str, Category]:
    return {code: category_create(name=name, code=code) for code, name in SAMPLE_CATEGORIES.items()}


@pytest.fixture
def hydra_facial(categories) -> CatalogueItem:
    return catalogue_item_create(kind=CatalogueItem.Kind.TREATMENT, name="水光针", sku="HY-01",
                                 category=categories["injectables"], price="1980.00", duration_minutes=45)


@pytest.fixture
def member(front_desk) -> Member:
    return member_register(name="周晓燕", phone="13700001111", actor=front_desk, member_number="OLD-001")
