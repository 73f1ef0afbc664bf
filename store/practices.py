"""Creating and finding the practice, the tenant every other record belongs to."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from store.errors import InvalidInput, NotFound
from store.models import Practice


def create_practice(name: str, timezone: str, region: str = "US") -> Practice:
    """Create a practice after checking its zone and phone region.

    Raises InvalidInput naming the bad field.
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("The practice needs a name.", field="name")

    check_timezone(timezone)
    region = check_region(region)

    return Practice.create(name=name, timezone=timezone, region=region)


def check_timezone(timezone: str) -> str:
    """Return the zone name if it is a known IANA zone, else raise InvalidInput."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"'{timezone}' is not a known time zone; use an IANA name such as "
            "America/New_York or Europe/London.",
            field="timezone",
        ) from exc
    return timezone


def check_region(region: str) -> str:
    """Return the upper-cased region if phone numbers know it, else raise."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(
            f"'{region}' is not a phone region; use a two-letter country code "
            "such as US, GB or AU.",
            field="region",
        )
    return code


def get_practice(practice_id: int | None = None) -> Practice:
    """The practice with this id, or the only one when no id is given.

    Raises NotFound when there is none, or when several exist and no id says
    which.
    """
    if practice_id is not None:
        practice = Practice.get_or_none(Practice.id == practice_id)
        if practice is None:
            raise NotFound(f"There is no practice {practice_id} in this database.")
        return practice

    practices = list(Practice.select().order_by(Practice.id).limit(2))
    if not practices:
        raise NotFound(
            "This home has no practice yet; run `frontdesk init` to create one."
        )
    if len(practices) > 1:
        raise NotFound(
            "This database holds several practices; set [practice] id in "
            "config.toml to say which one this desk serves."
        )
    return practices[0]
