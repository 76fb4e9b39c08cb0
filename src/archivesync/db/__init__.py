"""The database: schema and migrations, writers, views and the quota ledger."""
