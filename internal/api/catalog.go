package api

// catalogRoutes registers the catalog's routes: the V2 data API, the V1
// data source, dictionary and technology handler APIs, and sensitive data
// discovery.
func (s *Server) catalogRoutes() {
	if s.Catalog == nil {
		return
	}
	s.catalogV2Routes()
	s.dataSourceRoutes()
	s.dictionaryRoutes()
	s.handlerRoutes()
	if s.Discovery != nil {
		s.sddRoutes()
	}
}
