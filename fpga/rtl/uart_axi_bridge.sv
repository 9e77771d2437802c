// SPDX-License-Identifier: Apache-2.0
// UART host link: a byte protocol that carries AXI4-Lite register accesses and AXI4-Stream
// packets in both directions (protocol in docs/architecture.md, section "Board build").

`default_nettype none

module uart_axi_bridge #(
  parameter int ClkHz        = 200_000_000,  // clock frequency in Hz
  parameter int Baud         = 115_200,      // UART bit rate; ClkHz / Baud >= 4
  parameter int AddrW        = 12,           // AXI4-Lite byte address bits, 2..16
  parameter int RxDepth      = 16,           // receive FIFO entries, >= 2
  parameter int TimeoutBytes = 64,    // silence inside a command, in byte times, before abandon
  parameter int WaitCycles   = 4096,  // cycles a GET waits for the next output word, >= 1
  localparam int Div         = ClkHz / Baud,
  localparam int TimeoutCycles = TimeoutBytes * 10 * Div,
  localparam int TmoMax      = (TimeoutCycles > WaitCycles) ? TimeoutCycles : WaitCycles,
  localparam int TmoW        = $clog2(TmoMax + 1)
) (
  input  wire logic             clk_i,
  input  wire logic             rst_i,  // synchronous, active high
  // Serial pins
  input  wire logic             uart_rx_i,
  output logic                  uart_tx_o,
  // AXI4-Lite master: register accesses
  output logic      [AddrW-1:0] m_axil_awaddr,
  output logic      [2:0]       m_axil_awprot,
  output logic                  m_axil_awvalid,
  input  wire logic             m_axil_awready,
  output logic      [31:0]      m_axil_wdata,
  output logic      [3:0]       m_axil_wstrb,
  output logic                  m_axil_wvalid,
  input  wire logic             m_axil_wready,
  input  wire logic [1:0]       m_axil_bresp,
  input  wire logic             m_axil_bvalid,
  output logic                  m_axil_bready,
  output logic      [AddrW-1:0] m_axil_araddr,
  output logic      [2:0]       m_axil_arprot,
  output logic                  m_axil_arvalid,
  input  wire logic             m_axil_arready,
  input  wire logic [31:0]      m_axil_rdata,
  input  wire logic [1:0]       m_axil_rresp,
  input  wire logic             m_axil_rvalid,
  output logic                  m_axil_rready,
  // AXI4-Stream master: host to core
  output logic      [31:0]      m_axis_tdata,
  output logic                  m_axis_tvalid,
  input  wire logic             m_axis_tready,
  output logic                  m_axis_tlast,
  // AXI4-Stream slave: core to host
  input  wire logic [31:0]      s_axis_tdata,
  input  wire logic             s_axis_tvalid,
  output logic                  s_axis_tready,
  input  wire logic             s_axis_tlast,
  // Status
  output logic                  rx_strobe_o,  // a byte arrived (one cycle)
  output logic                  tx_busy_o,    // a byte is being sent
  output logic                  link_err_o    // sticky: framing error or overrun; PING clears
);

  // Protocol constants
  localparam logic [7:0] CmdPing  = 8'h50;  // 'P'
  localparam logic [7:0] CmdWrite = 8'h57;  // 'W'
  localparam logic [7:0] CmdRead  = 8'h52;  // 'R'
  localparam logic [7:0] CmdSend  = 8'h53;  // 'S'
  localparam logic [7:0] CmdGet   = 8'h47;  // 'G'
  localparam logic [7:0] Ack      = 8'h06;
  localparam logic [7:0] Nak      = 8'h15;
  localparam logic [7:0] ErrCmd   = 8'h01;  // unknown command
  localparam logic [7:0] ErrTmo   = 8'h02;  // command abandoned: bytes stopped coming
  localparam logic [7:0] ErrResp  = 8'h10;  // ORed with a non-OKAY AXI response
  localparam logic [7:0] TagWord  = 8'h01;
  localparam logic [7:0] TagLast  = 8'h02;
  localparam logic [7:0] TagEnd   = 8'h00;
  localparam logic [31:0] BridgeId = 32'h0142_554E;  // bytes "NUB" then version 1

  // ---------------------------------------------------------------------------------------------
  // Serial receive and transmit
  logic       rx_valid, rx_ferr;
  logic [7:0] rx_data;
  logic       fifo_ready, byte_valid, byte_ready;
  logic [7:0] byte_data;
  logic       tx_valid, tx_ready;
  logic [7:0] tx_data;

  uart_rx #(.ClkHz(ClkHz), .Baud(Baud)) u_rx (
    .clk_i,
    .rst_i,
    .rx_i       (uart_rx_i),
    .valid_o    (rx_valid),
    .data_o     (rx_data),
    .frame_err_o(rx_ferr)
  );

  // The fill level and flags are only checked in simulation: overrun shows as fifo_ready low.
  localparam int RxLevelW = $clog2(RxDepth + 1);
  localparam logic [RxLevelW-1:0] RxFullLevel = RxLevelW'(RxDepth);
  logic [RxLevelW-1:0] fifo_level;
  logic fifo_full, fifo_empty;

  elastic_fifo #(.Width(8), .Depth(RxDepth)) u_rx_fifo (
    .clk_i,
    .rst_i,
    .valid_i(rx_valid),
    .ready_o(fifo_ready),
    .data_i (rx_data),
    .valid_o(byte_valid),
    .ready_i(byte_ready),
    .data_o (byte_data),
    .level_o(fifo_level),
    .full_o (fifo_full),
    .empty_o(fifo_empty)
  );

  uart_tx #(.ClkHz(ClkHz), .Baud(Baud)) u_tx (
    .clk_i,
    .rst_i,
    .valid_i(tx_valid),
    .ready_o(tx_ready),
    .data_i (tx_data),
    .tx_o   (uart_tx_o),
    .busy_o (tx_busy_o)
  );

  // ---------------------------------------------------------------------------------------------
  // Command engine
  typedef enum logic [3:0] {
    Idle,      // wait for a command byte
    Args,      // collect the command's argument bytes
    AxiWrite,  // AW and W channels
    AxiB,      // B channel
    AxiAr,     // AR channel
    AxiR,      // R channel
    SendData,  // collect the 4 bytes of the next stream word
    SendPush,  // hand the word to the core
    GetWait,   // wait for the core's next output word
    GetNext,   // after a word record: another word or the end tag
    Reply      // send txbuf_q, then go to ret_q
  } state_e;

  state_e          state_q, ret_q;
  logic [7:0]      cmd_q;
  logic [47:0]     arg_q;      // argument bytes, first byte in bits 7:0
  logic [2:0]      argi_q;     // index of the next argument byte
  logic [2:0]      argn_q;     // number of argument bytes, minus one
  logic [31:0]     word_q;     // stream word being assembled
  logic [1:0]      wbyte_q;    // index of the next byte of word_q
  logic [15:0]     cnt_q;      // words left after the current one
  logic            tlast_q;    // SEND: end the packet with tlast; GET: last word was seen
  logic [39:0]     txbuf_q;    // reply bytes, sent from bits 7:0
  logic [2:0]      txn_q;      // reply bytes left, minus one
  logic            aw_done_q, w_done_q;
  logic [TmoW-1:0] tmo_q;
  logic            link_err_q;

  logic take;  // a received byte is consumed this cycle
  assign byte_ready = (state_q == Idle) | (state_q == Args) | (state_q == SendData);
  assign take       = byte_valid & byte_ready;

  localparam logic [TmoW-1:0] TmoLimit  = TmoW'(TimeoutCycles);
  localparam logic [TmoW-1:0] WaitLimit = TmoW'(WaitCycles);

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      state_q    <= Idle;
      ret_q      <= Idle;
      txn_q      <= '0;
      aw_done_q  <= 1'b0;
      w_done_q   <= 1'b0;
      tmo_q      <= '0;
      link_err_q <= 1'b0;
    end else begin
      if (rx_ferr || (rx_valid && !fifo_ready)) begin
        link_err_q <= 1'b1;
      end
      tmo_q <= take ? '0 : tmo_q + 1'b1;
      case (state_q)
        Idle: begin
          if (take) begin
            cmd_q  <= byte_data;
            argi_q <= '0;
            ret_q  <= Idle;
            case (byte_data)
              CmdPing: begin
                txbuf_q    <= {BridgeId, Ack};
                txn_q      <= 3'd4;
                state_q    <= Reply;
                link_err_q <= 1'b0;
              end
              CmdWrite: begin
                argn_q  <= 3'd5;
                state_q <= Args;
              end
              CmdRead, CmdGet: begin
                argn_q  <= 3'd1;
                state_q <= Args;
              end
              CmdSend: begin
                argn_q  <= 3'd2;
                state_q <= Args;
              end
              default: begin
                txbuf_q <= {24'h0, ErrCmd, Nak};
                txn_q   <= 3'd1;
                state_q <= Reply;
              end
            endcase
          end
        end
        Args: begin
          if (take) begin
            arg_q[{argi_q, 3'b000} +: 8] <= byte_data;
            argi_q               <= argi_q + 1'b1;
            if (argi_q == argn_q) begin
              case (cmd_q)
                CmdWrite: begin
                  aw_done_q <= 1'b0;
                  w_done_q  <= 1'b0;
                  state_q   <= AxiWrite;
                end
                CmdRead: state_q <= AxiAr;
                CmdSend: begin
                  // flags in byte 0 (bit 0: tlast on the final word), word count - 1 in 1..2
                  tlast_q <= arg_q[0];
                  cnt_q   <= {byte_data, arg_q[15:8]};
                  wbyte_q <= '0;
                  state_q <= SendData;
                end
                default: begin  // CmdGet: word count - 1 in bytes 0..1
                  cnt_q   <= {byte_data, arg_q[7:0]};
                  tlast_q <= 1'b0;
                  txbuf_q <= {32'h0, Ack};
                  txn_q   <= 3'd0;
                  ret_q   <= GetWait;
                  state_q <= Reply;
                end
              endcase
            end
          end else if (tmo_q == TmoLimit) begin
            txbuf_q <= {24'h0, ErrTmo, Nak};
            txn_q   <= 3'd1;
            state_q <= Reply;
          end
        end
        AxiWrite: begin
          if (m_axil_awready) aw_done_q <= 1'b1;
          if (m_axil_wready) w_done_q <= 1'b1;
          if ((aw_done_q || m_axil_awready) && (w_done_q || m_axil_wready)) begin
            state_q <= AxiB;
          end
        end
        AxiB: begin
          if (m_axil_bvalid) begin
            if (m_axil_bresp == 2'b00) begin
              txbuf_q <= {32'h0, Ack};
              txn_q   <= 3'd0;
            end else begin
              txbuf_q <= {24'h0, ErrResp | {6'h0, m_axil_bresp}, Nak};
              txn_q   <= 3'd1;
            end
            state_q <= Reply;
          end
        end
        AxiAr: begin
          if (m_axil_arready) state_q <= AxiR;
        end
        AxiR: begin
          if (m_axil_rvalid) begin
            if (m_axil_rresp == 2'b00) begin
              txbuf_q <= {m_axil_rdata, Ack};
              txn_q   <= 3'd4;
            end else begin
              txbuf_q <= {24'h0, ErrResp | {6'h0, m_axil_rresp}, Nak};
              txn_q   <= 3'd1;
            end
            state_q <= Reply;
          end
        end
        SendData: begin
          if (take) begin
            word_q[{wbyte_q, 3'b000} +: 8] <= byte_data;
            wbyte_q                <= wbyte_q + 1'b1;
            if (wbyte_q == 2'd3) state_q <= SendPush;
          end else if (tmo_q == TmoLimit) begin
            txbuf_q <= {24'h0, ErrTmo, Nak};
            txn_q   <= 3'd1;
            state_q <= Reply;
          end
        end
        SendPush: begin
          if (m_axis_tready) begin
            if (cnt_q == '0) begin
              txbuf_q <= {32'h0, Ack};
              txn_q   <= 3'd0;
              state_q <= Reply;
            end else begin
              cnt_q   <= cnt_q - 1'b1;
              state_q <= SendData;
            end
          end
        end
        GetWait: begin
          if (s_axis_tvalid) begin
            txbuf_q <= {s_axis_tdata, s_axis_tlast ? TagLast : TagWord};
            txn_q   <= 3'd4;
            tlast_q <= s_axis_tlast;
            ret_q   <= GetNext;
            state_q <= Reply;
          end else if (tmo_q >= WaitLimit) begin
            txbuf_q <= {32'h0, TagEnd};
            txn_q   <= 3'd0;
            ret_q   <= Idle;
            state_q <= Reply;
          end
        end
        GetNext: begin
          if (tlast_q || cnt_q == '0) begin
            txbuf_q <= {32'h0, TagEnd};
            txn_q   <= 3'd0;
            ret_q   <= Idle;
            state_q <= Reply;
          end else begin
            cnt_q   <= cnt_q - 1'b1;
            tmo_q   <= '0;
            state_q <= GetWait;
          end
        end
        Reply: begin
          if (tx_ready) begin
            txbuf_q <= {8'h0, txbuf_q[39:8]};
            txn_q   <= txn_q - 1'b1;
            if (txn_q == '0) begin
              state_q <= ret_q;
              tmo_q   <= '0;
            end
          end
        end
        default: state_q <= Idle;
      endcase
    end
  end

  // A reply byte is offered one cycle after the previous one was taken (uart_tx is not ready
  // while it sends), so tx_valid never depends on tx_ready.
  assign tx_valid = (state_q == Reply);
  assign tx_data  = txbuf_q[7:0];

  assign m_axil_awaddr  = arg_q[AddrW-1:0];
  assign m_axil_awprot  = 3'b000;
  assign m_axil_awvalid = (state_q == AxiWrite) & ~aw_done_q;
  assign m_axil_wdata   = arg_q[47:16];
  assign m_axil_wstrb   = 4'hF;
  assign m_axil_wvalid  = (state_q == AxiWrite) & ~w_done_q;
  assign m_axil_bready  = (state_q == AxiB);
  assign m_axil_araddr  = arg_q[AddrW-1:0];
  assign m_axil_arprot  = 3'b000;
  assign m_axil_arvalid = (state_q == AxiAr);
  assign m_axil_rready  = (state_q == AxiR);

  assign m_axis_tdata  = word_q;
  assign m_axis_tvalid = (state_q == SendPush);
  assign m_axis_tlast  = tlast_q & (cnt_q == '0);
  assign s_axis_tready = (state_q == GetWait);

  assign rx_strobe_o = rx_valid;
  assign link_err_o  = link_err_q;

`ifndef SYNTHESIS
  initial begin
    if (AddrW < 2 || AddrW > 16) $fatal(1, "uart_axi_bridge: AddrW must be 2..16, got %0d", AddrW);
    if (WaitCycles < 1) $fatal(1, "uart_axi_bridge: WaitCycles must be >= 1");
    if (TimeoutBytes < 2) $fatal(1, "uart_axi_bridge: TimeoutBytes must be >= 2");
  end

  always @(posedge clk_i) begin
    if (!rst_i) begin
      assert (fifo_empty == !byte_valid && fifo_full == !fifo_ready && fifo_level <= RxFullLevel)
        else $error("uart_axi_bridge: receive FIFO flags disagree");
    end
  end
`endif

endmodule : uart_axi_bridge

`default_nettype wire
