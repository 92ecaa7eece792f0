"""Domain services: plain async Python over the database, no Discord imports.

Each public coroutine is one user action and runs in one transaction, so a refused or failed
action writes nothing and an acknowledged one is committed together with its audit entry.
"""
