"""Create the Rucio schema, the base VO and the root account.

Runs inside the Rucio server virtualenv (never imports jupyter_wp5); reads $RUCIO_CONFIG.
"""

from rucio.db.sqla.util import build_database, create_base_vo, create_root_account


def main() -> None:
    """Build the schema and bootstrap the root account."""
    build_database()
    create_base_vo()
    create_root_account()


if __name__ == "__main__":
    main()
