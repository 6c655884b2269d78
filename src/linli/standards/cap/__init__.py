"""CAP 1.2 alerts over the notice domain's emergency broadcasts."""
