"""GraphiQL, React and the Soteria page script (see README.md), served by gateway.graphql."""
