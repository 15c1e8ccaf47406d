"""OAuth 2.0 for Soteria Exchange: the authorization server and the resource-server guard.

This package depends only on third-party libraries and the standard library (never on
``schema``, ``adapters`` or ``gateway``). The gateway wires it with
``auth.components.build_auth`` and guards data with ``auth.guard.require``.

Modules, one concept each:

* ``scopes``, ``principal``, ``policy``: the vocabulary and the one policy table;
* ``settings``, ``clock``, ``errors``: configuration, time, and the exception tree;
* ``models``, ``kek``, ``signing_keys``, ``clients``, ``revocation``: storage;
* ``tokens``, ``client_assertion``, ``authlib_models``, ``authorization_server``,
  ``server``: the authorization server (token, revoke, introspect, JWKS, metadata);
* ``verification``, ``keycache``, ``external``, ``validation``: token validation;
* ``backend``, ``guard``, ``responses``, ``denials``, ``ratelimit``, ``ratelimit_sql``:
  resource protection;
* ``components``: wiring for an application.
"""
