"""The GraphQL contract: graphene types whose thin resolvers call the request context."""
