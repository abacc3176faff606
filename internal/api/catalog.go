package api

// catalogRoutes registers the catalog's routes: the V2 data API, the V1
// data source, dictionary and technology handler APIs (with the legacy
// PostgreSQL ones), and sensitive data discovery.
func (s *Server) catalogRoutes() {
	if s.Catalog == nil {
		return
	}
	s.catalogV2Routes()
	s.dataSourceRoutes()
	s.dictionaryRoutes()
	s.handlerRoutes()
	s.legacyPostgresRoutes()
	if s.Discovery != nil {
		s.sddRoutes()
	}
}
