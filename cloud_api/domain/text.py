"""Client text the databases must store: PostgreSQL ``text`` cannot hold NUL, so it is refused (422)."""

NO_NUL = r"^[^\x00]*$"
