"""The dupopt application layer: the command line that ties ``optimizer`` (the model and
its result tables) to ``geo`` (maps and reports). The libraries never import it."""
