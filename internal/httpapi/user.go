package httpapi

import "net/http"

// routesUser mounts the user-information module (bind/unbind, change
// email/phone/password, cancel account).
func (s *Server) routesUser(api func(string, bool, func(http.ResponseWriter, *http.Request) error)) {
}
