"""travesia: person-by-person simulation and forecasting of migrant caravans and refugee flows."""

__version__ = "0.1.0"
