"""support: the endpoint classification the dependency audit relies on, and finding the
application's code and data by import path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from checks.support import data_path, endpoint_from_url, import_object, load_json

DEMO = Path(__file__).parents[2] / "service" / "demo" / "app"

# Written out, not imported: a wrong entry in the module's sets must fail here.
GLOBAL_HOSTS = [
    "iam",
    "sts",
    "route53",
    "cloudfront",
    "organizations",
    "support",
    "globalaccelerator",
    "waf",
    "shield",
    "route53domains",
    "budgets",
    "ce",
    "health",
    "s3",
]
US_EAST_1_ONLY = ["organizations", "route53domains", "support", "ce", "health"]


def classified(url: str, region: str | None = None) -> tuple[str, str | None, bool]:
    found = endpoint_from_url(url, region=region)
    return found.url, found.region, found.global_service


@pytest.mark.parametrize("service", GLOBAL_HOSTS)
def test_a_global_endpoint_is_global_and_in_us_east_1(service: str) -> None:
    url = f"https://{service}.amazonaws.com"
    assert classified(url, region="eu-west-1") == (url, "us-east-1", True)


@pytest.mark.parametrize("service", US_EAST_1_ONLY)
def test_a_us_east_1_only_service_is_global_there_and_regional_elsewhere(service: str) -> None:
    east = f"https://{service}.us-east-1.amazonaws.com"
    west = f"https://{service}.eu-west-1.amazonaws.com"
    assert classified(east) == (east, "us-east-1", True)
    assert classified(west) == (west, "eu-west-1", False)


@pytest.mark.parametrize(
    ("url", "region", "expected"),
    [
        pytest.param(
            "https://dynamodb.eu-west-1.amazonaws.com", None, ("eu-west-1", False), id="regional"
        ),
        pytest.param("dynamodb.eu-west-1.amazonaws.com", None, ("eu-west-1", False), id="host"),
        pytest.param(
            "dynamodb.eu-west-1.amazonaws.com:443", None, ("eu-west-1", False), id="host-port"
        ),
        pytest.param(
            "https://Dynamodb.EU-WEST-1.AmazonAWS.com./x", None, ("eu-west-1", False), id="case"
        ),
        pytest.param("https://STS.AmazonAWS.com./", None, ("us-east-1", True), id="global-case"),
        pytest.param(
            "https://dynamodb.amazonaws.com", "eu-west-1", ("us-east-1", False), id="not-global"
        ),
        pytest.param(
            "https://iam.us-east-1.amazonaws.com", None, ("us-east-1", False), id="iam-regional"
        ),
        pytest.param(
            "https://sqs.us-east-1.amazonaws.com", None, ("us-east-1", False), id="us-east-1"
        ),
        pytest.param(
            "https://b.s3.eu-west-1.amazonaws.com", None, ("eu-west-1", False), id="five-labels"
        ),
        pytest.param(
            "https://o.organizations.us-east-1.amazonaws.com",
            None,
            ("us-east-1", True),
            id="five-labels-us-east-1-only",
        ),
        pytest.param("https://api.example.com/x", "eu-west-2", ("eu-west-2", False), id="other"),
        pytest.param("https://api.example.com/x", None, (None, False), id="other-no-region"),
        pytest.param("https://amazonaws.com", "eu-west-2", ("eu-west-2", False), id="two-labels"),
        pytest.param(
            "https://sts.amazonaws.org", "eu-west-2", ("eu-west-2", False), id="not-amazonaws"
        ),
        pytest.param(
            "https://sts.amazon.com", "eu-west-2", ("eu-west-2", False), id="not-amazonaws-com"
        ),
        pytest.param("http://", "eu-west-2", ("eu-west-2", False), id="no-host"),
    ],
)
def test_endpoint_from_url_classifies(
    url: str, region: str | None, expected: tuple[str | None, bool]
) -> None:
    assert classified(url, region) == (url, *expected)


def test_import_object_follows_dotted_attributes() -> None:
    from checks.support import Path as imported_path

    assert import_object("checks.support:endpoint_from_url") is endpoint_from_url
    assert import_object("checks.support:Path.home") == imported_path.home


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("checks.support", "'checks.support' is not an import path 'package.module:attribute'"),
        (":endpoint_from_url", "':endpoint_from_url' is not an import path"),
        ("checks.support:", "'checks.support:' is not an import path"),
        ("checks.support:nope", "'checks.support' has no attribute 'nope'"),
        ("checks.support:Path.nope", "'checks.support' has no attribute 'Path.nope'"),
        ("checks.support:Path:home", "'checks.support' has no attribute 'Path:home'"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz': No module named"),
    ],
)
def test_import_object_refuses_what_it_cannot_find(path: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        import_object(path)


def test_data_path_finds_a_file_inside_a_package() -> None:
    found = data_path("service.demo.app:golden/authorizer.json")
    assert found == DEMO / "golden" / "authorizer.json"
    assert found.is_file()
    # The package ends at the first colon; the rest is the file's path, colons and all.
    assert data_path("service.demo.app:golden/a:b.json") == DEMO / "golden" / "a:b.json"


@pytest.mark.parametrize(
    "spec", ["/etc/x.json", "relative/x.json", "dir/pkg:x.json", ":x.json", "service.demo.app:"]
)
def test_data_path_is_a_plain_path_otherwise(spec: str) -> None:
    assert data_path(spec) == Path(spec)


def test_load_json_reads_a_file_or_says_why_not(tmp_path: Path) -> None:
    good, broken = tmp_path / "good.json", tmp_path / "broken.json"
    good.write_text(json.dumps({"é": [1, 2]}), encoding="utf-8")
    broken.write_text('{"a": ', encoding="utf-8")
    assert load_json(str(good)) == {"é": [1, 2]}
    assert load_json("service.demo.app:golden/authorizer.json")[0]["name"]
    absent = tmp_path / "absent.json"
    with pytest.raises(ValueError, match=f"^{re.escape(f'cannot read {absent}: ')}No such file"):
        load_json(str(absent))
    with pytest.raises(ValueError, match=f"^{re.escape(f'{broken} is not valid JSON: ')}Expecting"):
        load_json(str(broken))
