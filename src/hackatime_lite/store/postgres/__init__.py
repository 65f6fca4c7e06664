"""The PostgreSQL backend: many app nodes on one database (`database_url = postgresql://…`)."""
