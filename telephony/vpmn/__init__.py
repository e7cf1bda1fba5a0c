"""VPMN: a tenant's private numbering plan over desk phones and mobiles, CDRs, rating, bills."""
