"""An example of a user's own code searched by tune_flow without changing it: a network, a flow
and a dataset, named in space.yaml by import path (README: "Your own model")."""
