"""Tests of the GraphQL-over-HTTP transport (gateway.graphql)."""
