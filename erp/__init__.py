"""ERP events: items and stock, sales orders, approvals."""
