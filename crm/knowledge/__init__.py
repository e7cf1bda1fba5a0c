"""Knowledge-base articles: search, view counts, links in ticket replies."""
