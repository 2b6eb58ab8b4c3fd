"""The faces: how a request reaches the engine, and nothing else (no verdict rules here).

- :mod:`~service.faces.routes`: the HTTP rules (routes, errors, the details token), no framework;
- :mod:`~service.faces.app`: FastAPI over the routes (``serve``, embedded mounting);
- :mod:`~service.faces.openapi`: the OpenAPI document of those routes;
- :mod:`~service.faces.apigw`: API Gateway events over the routes;
- :mod:`~service.faces.lambda_handler`: the Lambda handler, with
  :mod:`~service.faces.snapstart` (its SnapStart hooks) and :mod:`~service.faces.secrets` (the
  details token read from SSM once, at init).
"""
