"""Call centre: queues, agents, automatic call distribution, stats."""
