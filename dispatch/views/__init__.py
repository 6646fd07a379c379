"""Dispatch HTML views, one module per audience: ``intake`` (grid workers, hotline operators),
``public`` (citizens, no login), ``workbench`` (the command centre's queue and map), ``case``
(the case page and every workflow action on it). Each module lists its own ``urlpatterns``."""
