"""Items, warehouses, stock levels and the append-only movement ledger."""
