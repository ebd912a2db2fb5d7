from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class ApiKey(Table, tablename="api_keys"):
    key_hash = Varchar(length=64, unique=True)
    """sha256 hex of the key: the key itself is shown once and never stored."""
    prefix = Varchar(length=16)
    """First characters of the key, to tell keys apart in listings and logs."""
    name = Varchar(length=100)
    scopes = Varchar(length=100)
    """Comma-separated subset of read, write, admin."""
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
