"""The analytics_v1 read model behind the dashboards."""
