"""Feature folders: each holds its tables, services, schemas, controllers and guards."""
