"""Continuous backup, restore and read replicas, built on the Litestream binary."""
