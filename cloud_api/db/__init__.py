"""Database: the engine chosen from DATABASE_URL, Piccolo app and committed migrations."""
