"""The analytics_v2 read model behind the dashboards."""
